"""A dozen mediation cases (矛盾纠纷), four per community, with their mediation notes.

Cases the community's mediator works on sit in the grid the mediator's tablet syncs; the
others stay with the grid member ("小事不出网格"). Eight happened before the field day
(their status moved along, notes written then); four are registered on the field day.
Notes with `days_ago == 0` are written on the field day itself, offline.
"""

from dataclasses import dataclass
from typing import Literal

from schemas.enums import CaseLevel as Level
from schemas.enums import CaseStatus as Status
from schemas.enums import CaseType as Type
from schemas.enums import MediationMethod as Method

Author = Literal["member", "mediator"]

# The status steps a case goes through to reach each status (it starts registered).
STATUS_PATH: dict[Status, tuple[Status, ...]] = {
    Status.REGISTERED: (),
    Status.ACCEPTED: (Status.ACCEPTED,),
    Status.MEDIATING: (Status.ACCEPTED, Status.MEDIATING),
    Status.RESOLVED: (Status.ACCEPTED, Status.MEDIATING, Status.RESOLVED),
    Status.FAILED: (Status.ACCEPTED, Status.MEDIATING, Status.FAILED),
    Status.ESCALATED: (Status.ACCEPTED, Status.MEDIATING, Status.ESCALATED),
    Status.CLOSED: (Status.ACCEPTED, Status.MEDIATING, Status.RESOLVED, Status.CLOSED),
}


@dataclass(frozen=True, slots=True)
class NoteTemplate:
    by: Author
    method: Method
    text: str
    next_step: str
    days_ago: int
    # Local time of day, "HH:MM".
    time: str = "10:00"


@dataclass(frozen=True, slots=True)
class CaseTemplate:
    """Placeholders: {a} the applicant, {b} the respondent, {addr_a}, {compound},
    {building}, {unit}, {age_a}."""

    key: str
    community: int
    with_mediator: bool
    type: Type
    title: str
    description: str
    place: str
    days_ago: int
    deadline_in: int
    status: Status
    level: Level = Level.GRID
    urgent: bool = False
    # The respondent is an organisation (its contact person gets a name), not a neighbour.
    organisation: str | None = None
    outcome: str | None = None
    agreement: str | None = None
    notes: tuple[NoteTemplate, ...] = ()
    # The status the mediator sets on the field day, offline.
    field_day_status: Status | None = None
    # The applicant is an elderly resident / a renter.
    applicant: Literal["any", "elder", "renter"] = "any"

    @property
    def on_field_day(self) -> bool:
        return self.days_ago == 0


M: Author = "member"
D: Author = "mediator"

CASES: tuple[CaseTemplate, ...] = (
    CaseTemplate(
        "leak",
        0,
        True,
        Type.NEIGHBOURS,
        "楼上{b}家卫生间漏水殃及楼下{a}家",
        "{a}反映：楼上{b}家卫生间防水层老化，近一个月来自家卫生间和厨房天花板持续渗水，"
        "墙面发霉、吊顶变形。{a}多次上楼沟通，{b}认为是公共管道的问题，不愿承担维修费用，"
        "双方在楼道里争吵过两次。",
        "{addr_a}",
        9,
        6,
        Status.ACCEPTED,
        notes=(
            NoteTemplate(
                M,
                Method.ON_SITE,
                "到{a}家查看，卫生间吊顶有明显水渍，墙角发黑，已拍照留存。联系物业查看公共管道。",
                "请物业检测漏水点",
                8,
                "09:40",
            ),
            NoteTemplate(
                D,
                Method.PHONE,
                "电话联系{b}，{b}同意配合物业做闭水试验，但坚持要先查清漏水原因再谈赔偿。",
                "等闭水试验结果",
                5,
                "15:20",
            ),
            NoteTemplate(
                M,
                Method.ON_SITE,
                "物业做了闭水试验，确认是{b}家卫生间地面防水失效，不是公共管道的问题。"
                "已把结果分别告诉双方。",
                "约双方到社区调解室面谈",
                0,
                "10:15",
            ),
            NoteTemplate(
                D,
                Method.AT_HOME,
                "上门与{b}面谈，讲解《民法典》相邻关系的规定。{b}态度有所松动，愿意重做卫生间防水，"
                "但对楼下吊顶的赔偿金额有异议。",
                "下周二下午在社区调解室组织双方调解，请物业工程师到场",
                0,
                "14:30",
            ),
        ),
        field_day_status=Status.MEDIATING,
    ),
    CaseTemplate(
        "support",
        0,
        True,
        Type.MARRIAGE_FAMILY,
        "{a}老人赡养费用分担纠纷",
        "{a}老人今年{age_a}岁，有两子一女。因老人住院费用的分担，子女之间互相推诿，"
        "大儿子{b}认为自己平时照顾最多，不愿再多出钱。老人为此多次到社区哭诉。",
        "{addr_a}",
        20,
        10,
        Status.MEDIATING,
        applicant="elder",
        notes=(
            NoteTemplate(
                D,
                Method.AT_HOME,
                "上门看望{a}老人，了解子女情况和近半年的医疗费用，老人情绪低落。",
                "分别联系三个子女",
                12,
            ),
            NoteTemplate(
                D,
                Method.MEDIATION_ROOM,
                "组织三个子女到调解室协商，二儿子和女儿同意按三人平均分担，{b}仍有顾虑。",
                "整理费用清单，下周再谈",
                3,
                "14:00",
            ),
            NoteTemplate(
                D,
                Method.PHONE,
                "电话联系{b}，其同意先垫付这次的住院费用，以后按三人平均分担。",
                "起草赡养协议，约三人签字",
                0,
                "16:40",
            ),
        ),
    ),
    CaseTemplate(
        "renovation",
        0,
        False,
        Type.RENOVATION,
        "{b}家装修噪音扰民",
        "{a}反映同单元{b}家装修期间周末和中午也在电钻施工，家中有高考生，严重影响休息和学习。",
        "{compound}{building}{unit}",
        22,
        -8,
        Status.CLOSED,
        outcome="调解成功，装修时间按约定执行，回访居民满意，结案。",
        agreement="装修只在工作日8:00—12:00、14:00—18:00进行，周末和节假日不施工；"
        "电钻等高噪音作业提前一天在单元群里告知。",
        notes=(
            NoteTemplate(
                M,
                Method.ON_SITE,
                "到现场查看，装修队中午确实在施工，已要求暂停并转告业主{b}。",
                "约业主{b}面谈",
                21,
                "12:20",
            ),
            NoteTemplate(
                M,
                Method.AT_HOME,
                "上门与{b}沟通，{b}表示工期紧，同意调整施工时间，双方当面约定了施工时段。",
                "一周后回访",
                19,
            ),
            NoteTemplate(
                M,
                Method.PHONE,
                "回访{a}，装修已按约定时间施工，表示满意。",
                "结案",
                9,
                "18:30",
            ),
        ),
    ),
    CaseTemplate(
        "ebike",
        0,
        False,
        Type.NEIGHBOURS,
        "楼道电动车充电引发邻里矛盾",
        "{a}反映同单元{b}长期把电动车推进楼道，从家里拉线充电，多次劝说无果，"
        "担心引发火灾，双方在楼道发生争执。",
        "{compound}{building}{unit}楼道",
        0,
        1,
        Status.REGISTERED,
        notes=(
            NoteTemplate(
                M,
                Method.ON_SITE,
                "现场查看，楼道里确有电动车停放和飞线充电，已拍照。先劝{b}把车推到小区集中充电棚。",
                "报社区，联系物业增设充电桩",
                0,
                "11:05",
            ),
        ),
    ),
    CaseTemplate(
        "dog",
        1,
        True,
        Type.NEIGHBOURS,
        "{b}家犬只夜间吠叫扰民",
        "{a}反映隔壁{b}家养的狗每天夜里叫个不停，家里老人睡不好觉，和{b}说过几次没有改善。",
        "{addr_a}",
        15,
        -5,
        Status.RESOLVED,
        outcome="调解成功，双方握手言和。",
        agreement="{b}夜间将狗关在室内并加装隔音门帘，外出遛狗拴绳、清理粪便；"
        "如再扰民，同意由社区协调送训。",
        notes=(
            NoteTemplate(
                D,
                Method.AT_HOME,
                "分别上门听取双方意见，{b}认为狗只是偶尔叫，{a}提供了夜间录音。",
                "约双方到调解室",
                12,
            ),
            NoteTemplate(
                D,
                Method.MEDIATION_ROOM,
                "双方到调解室面谈，{b}当场道歉并承诺整改，签订调解协议。",
                "一周后回访",
                9,
                "19:00",
            ),
        ),
    ),
    CaseTemplate(
        "wages",
        1,
        True,
        Type.WAGES_LABOUR,
        "装修工人{a}被拖欠工资",
        "{a}去年跟着包工头{b}做装修，还有八千多元工资没有拿到，多次讨要，{b}一直推说业主没结账。",
        "社区调解室",
        25,
        5,
        Status.FAILED,
        level=Level.COMMUNITY,
        applicant="renter",
        outcome="调解不成，已引导申请劳动仲裁，司法所提供法律援助。",
        notes=(
            NoteTemplate(
                D,
                Method.PHONE,
                "电话联系包工头{b}，对方称业主还没结清工程款，暂时无力支付。",
                "联系业主核实工程款",
                10,
            ),
            NoteTemplate(
                D,
                Method.MEDIATION_ROOM,
                "组织双方调解，{b}只同意先付一半，{a}不接受，调解未成功。",
                "引导{a}申请劳动仲裁，联系司法所法律援助",
                4,
                "15:30",
            ),
            NoteTemplate(
                D,
                Method.PHONE,
                "已帮{a}预约街道司法所的法律援助律师，周四上午面谈。",
                "跟进仲裁申请",
                0,
                "09:10",
            ),
        ),
    ),
    CaseTemplate(
        "garage",
        1,
        False,
        Type.HOUSING_LAND,
        "地下车库公共通道被{b}堆放杂物",
        "{a}反映{b}在地下车库公共通道堆放旧家具和纸箱，车辆进出困难，也有消防隐患。",
        "{compound}地下车库",
        8,
        -3,
        Status.RESOLVED,
        outcome="{b}已清理杂物，恢复公共通道。",
        agreement="{b}三日内清理杂物，今后不在公共区域堆放物品。",
        notes=(
            NoteTemplate(
                M, Method.ON_SITE, "现场查看，通道一半被占用，已拍照。", "找{b}沟通", 7, "16:00"
            ),
            NoteTemplate(
                M,
                Method.AT_HOME,
                "上门与{b}沟通消防安全规定，{b}同意三日内清理。",
                "三天后复查",
                6,
            ),
        ),
    ),
    CaseTemplate(
        "dance",
        1,
        False,
        Type.OTHER,
        "小区广场舞音响音量过大",
        "{a}等多名居民反映，每天晚上小区中心广场的广场舞音响声音太大，持续到九点半以后，"
        "影响孩子写作业和老人休息。舞队负责人是{b}。",
        "{compound}中心广场",
        0,
        7,
        Status.REGISTERED,
        notes=(
            NoteTemplate(
                M,
                Method.ON_SITE,
                "傍晚到广场查看，音响音量明显偏大，已和{b}初步沟通，{b}表示可以调小音量。",
                "组织舞队和居民代表面谈，商定音量和时间",
                0,
                "17:10",
            ),
        ),
    ),
    CaseTemplate(
        "elevator",
        2,
        True,
        Type.PROPERTY_MANAGEMENT,
        "电梯频繁故障，业主与物业矛盾激化",
        "{compound}{building}电梯一个月内停运四次，有老人被困。业主代表{a}组织部分业主拒交物业费，"
        "物业则以欠费为由拖延维修，双方在业主群里互相指责。",
        "{compound}{building}",
        14,
        3,
        Status.ESCALATED,
        level=Level.COMMUNITY,
        urgent=True,
        organisation="{compound}物业服务中心",
        notes=(
            NoteTemplate(
                M,
                Method.ON_SITE,
                "到现场查看，电梯停运，张贴的维保记录已过期。已安抚在场业主的情绪。",
                "报调解员，约物业面谈",
                13,
                "08:50",
            ),
            NoteTemplate(
                D,
                Method.MEDIATION_ROOM,
                "物业与业主代表面谈，物业同意维修但要求先交费，分歧较大。",
                "报社区两委，协调住建部门检测电梯",
                8,
                "14:00",
            ),
            NoteTemplate(
                D,
                Method.MEDIATION_ROOM,
                "社区牵头召开议事会，物业承诺本周内请特检院检测电梯，业主代表同意检测合格后补交物业费。",
                "盯住检测结果，月底前答复业主",
                0,
                "15:00",
            ),
        ),
    ),
    CaseTemplate(
        "prepaid",
        2,
        True,
        Type.CONSUMER,
        "健身房闭店，预付卡无法退费",
        "{a}等三十多名居民在小区底商的健身房办了年卡，健身房突然闭店，负责人联系不上，"
        "涉及金额约十五万元。",
        "{compound}底商",
        18,
        12,
        Status.ESCALATED,
        level=Level.STREET,
        organisation="{compound}底商健身会所",
        notes=(
            NoteTemplate(
                D,
                Method.PHONE,
                "电话联系健身房负责人{b}，电话已停机。已登记受影响居民名单。",
                "报街道市场监管所",
                12,
            ),
        ),
    ),
    CaseTemplate(
        "deposit",
        2,
        True,
        Type.HOUSING_LAND,
        "租客{a}与房东{b}押金退还纠纷",
        "{a}租期届满搬走，房东{b}以墙面有污损为由要扣一半押金，{a}认为属于正常使用损耗。",
        "{addr_a}",
        0,
        7,
        Status.REGISTERED,
        applicant="renter",
        notes=(
            NoteTemplate(
                M,
                Method.PHONE,
                "电话联系房东{b}，其称墙面有大面积污损，需要重新粉刷，要扣一半押金。",
                "请调解员介入，约双方到房屋现场查看",
                0,
                "13:50",
            ),
        ),
    ),
    CaseTemplate(
        "parking",
        2,
        False,
        Type.PROPERTY_MANAGEMENT,
        "地面公共停车位被长期占用",
        "{a}反映{b}在楼下公共停车位上放地锁，长期占用，其他业主无法停车，物业管理不力。",
        "{compound}{building}楼下",
        0,
        7,
        Status.REGISTERED,
        notes=(
            NoteTemplate(
                M,
                Method.ON_SITE,
                "现场查看，楼下两个公共车位装了地锁，已拍照并通知物业。",
                "约物业和{b}沟通拆除地锁",
                0,
                "15:40",
            ),
        ),
    ),
)

# The case the grid member and the mediator both write notes on, offline, on the field day.
SHARED_CASE = "leak"
