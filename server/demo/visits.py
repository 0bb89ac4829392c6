"""Visits (走访记录): a purpose that fits the household, findings in the words a grid member
writes them, needs (诉求) with a category, a status and a deadline, a follow-up date."""

import random
from datetime import date, datetime, timedelta
from typing import Any

from schemas.enums import HouseholdTag as Tag
from schemas.enums import NeedCategory as Cat
from schemas.enums import NeedStatus
from schemas.enums import VisitPurpose as Purpose
from server.demo.households import ELDERLY_TAGS as ELDERLY
from server.demo.households import Home

YOUNG = {Tag.LEFT_BEHIND_CHILD, Tag.CHILDCARE_NEED}
FRAIL = {Tag.DISABILITY, Tag.FAMILY_IN_DIFFICULTY, Tag.SUBSISTENCE_ALLOWANCE}
_CITIES = ("上海", "杭州市区", "深圳", "宁波", "苏州", "北京")

_FINDINGS: dict[str, tuple[str, ...]] = {
    "elder": (
        "{elder}老人今年{elder_age}岁，{alone}，子女在{city}工作，每月回来一两次。老人精神状态尚可，"
        "血压偏高，按时服药。家中燃气灶未装熄火保护装置，已提醒注意用火安全。",
        "入户时{elder}正在家中休息，自述最近腿脚不太灵便，上下楼吃力。冰箱里剩菜较多，"
        "劝老人少吃隔夜菜。已留下网格员联系电话，叮嘱有事随时打电话。",
        "{elder}老人身体还算硬朗，每天早上去小区门口公园散步。家里卫生整洁，"
        "对社区老年食堂的饭菜比较满意，希望周末也能开餐。",
        "{elder}听力下降明显，交流需要大声说话。白天多在楼下和邻居聊天，晚上一个人在家。"
        "已联系其子女，建议给老人配助听器，并把社区“一键呼”服务告诉了家属。",
    ),
    "family_elder": (
        "{elder}老人今年{elder_age}岁，和子女同住，白天子女上班，家里只有老人一个人。"
        "老人有糖尿病，每月到社区卫生服务站配药。已提醒家属注意老人防跌倒。",
    ),
    "left_behind": (
        "{child}今年{child_age}岁，父母在外地打工，平时由{head}照看。孩子学习成绩中等，"
        "放学后多在家看手机，老人管不住。已介绍社区“四点半课堂”，家长表示愿意报名。",
    ),
    "childcare": (
        "家中孩子{child_age}岁，{head}夫妻都是双职工，白天由老人带孩子，老人腰不好，"
        "希望就近找到普惠托育机构。已介绍街道托育服务点的报名方式。",
    ),
    "frail": (
        "{head}家庭收入较低，{n}口人靠一份工资生活。已核实家庭情况，"
        "告知低保年审和临时救助的申请条件，居民表示会准备材料。",
        "{head}行动不便，需要家人照顾。家中无障碍设施缺乏，卫生间没有扶手，"
        "已登记适老化（无障碍）改造需求。",
    ),
    Purpose.ROUTINE: (
        "入户核实家庭人口信息，{n}口人，与登记一致。居民对小区环境总体满意，"
        "反映晚上小区门口停车比较乱。",
        "{head}家中一切正常，近期无人员变动。顺带宣传了垃圾分类“四分类”要求，发放分类指南一份。",
        "家中无人，电话联系{head}，约好周末再上门，门口已张贴网格员便民联系卡。",
        "{head}一家刚从外地探亲回来，家中情况稳定。提醒冬季用电取暖注意安全，不要私拉电线。",
    ),
    "renter": (
        "房屋为出租房，租客{head}，从事{job}，早出晚归。已登记租住信息，提醒房东办理居住登记。",
        "{head}来临平打工两年，与{n}人合租，对社区服务不太了解，已介绍“新就业群体”驿站的位置"
        "和休息、充电、喝水等免费服务。",
    ),
    Purpose.POLICY_PROMOTION: (
        "宣传城乡居民医保缴费政策（本年度缴费截止到12月底），{head}表示会尽快缴纳。",
        "入户宣传防范电信网络诈骗，指导安装国家反诈中心App。{head}家老人曾接到冒充公检法的电话，"
        "所幸没有上当。",
        "宣传高龄津贴和居家养老服务补贴政策，{elder}符合条件，已告知需要准备的材料。",
        "宣传电动自行车“禁止进楼入户、禁止楼道充电”的规定，发放告知书一份，{head}签字确认。",
    ),
    Purpose.NEEDS_COLLECTION: (
        "收集居民“微心愿”，{head}希望小区多增设几个休息座椅，并提出了以下诉求。",
        "{head}反映了家里和小区的一些问题，已逐条记录，承诺一周内答复。",
    ),
    Purpose.HAZARD_CHECK: (
        "检查楼道消防通道，{building}{unit}楼道堆放纸箱、旧家具较多，已要求住户三日内清理。",
        "发现一楼车库有人私拉电线给电动车充电，存在火灾隐患，已当场劝阻并拍照留存。",
        "检查{head}家燃气软管，已老化发硬，建议尽快更换金属波纹管，居民同意。",
        "{building}{unit}楼道灭火器压力不足，已报物业更换。家中用电用气情况正常。",
    ),
    Purpose.DISPUTE_SCREENING: (
        "开展矛盾纠纷排查，{head}家与邻居关系融洽，未发现矛盾苗头。",
        "{head}反映楼上晚上经常有拖椅子的声音，影响休息，目前还没有和楼上沟通。"
        "已做好记录，先由网格员上门了解情况。",
        "{head}与隔壁因公共走廊摆放鞋柜有过口角，双方情绪已平复，后续继续关注。",
    ),
    Purpose.FOLLOW_UP: (
        "回访上次反映的“{prev_need}”，物业已派人处理，{head}表示满意。",
        "回访：上次反映的“{prev_need}”已有人来看过，但还没有彻底解决，{head}不太满意，继续跟进。",
    ),
}

# Category → (what residents say, how big: small 1 day, medium 7, large 15 — the "1715" rule)
NEEDS: dict[Cat, tuple[tuple[str, int], ...]] = {
    Cat.REPAIR: (
        ("楼道声控灯坏了，晚上上下楼看不清", 1),
        ("单元门禁坏了一个多月，外来人员随意进出", 7),
        ("屋顶渗水，下雨天卧室墙面发霉", 15),
        ("楼下窨井盖松动，踩上去会晃", 1),
    ),
    Cat.SANITATION: (
        ("楼下垃圾桶满溢没人清理，气味很大", 1),
        ("绿化带里常年积水，蚊子多", 7),
        ("楼道里小广告贴得到处都是，希望清理", 7),
    ),
    Cat.ELDERLY_CARE: (
        ("希望社区食堂每天送餐上门", 7),
        ("申请安装紧急呼叫器（一键呼）", 7),
        ("希望志愿者每周上门陪聊、代买药品", 7),
        ("申请适老化改造，卫生间加装扶手", 15),
    ),
    Cat.CHILDCARE: (
        ("孩子两岁半，希望就近入托", 15),
        ("希望暑假有公益托管班", 15),
    ),
    Cat.EMPLOYMENT: (
        ("失业在家，希望推荐附近的工作岗位", 7),
        ("想参加育婴师技能培训", 15),
    ),
    Cat.HEALTH: (
        ("行动不便，希望家庭医生上门随访", 7),
        ("高血压需要长期服药，咨询慢病用药报销", 1),
    ),
    Cat.LEGAL_ADVICE: (
        ("和房东因押金退还有争议，咨询怎么维权", 7),
        ("咨询遗嘱公证怎么办理", 7),
        ("配送平台无故扣款，咨询劳动权益", 7),
    ),
    Cat.SOCIAL_SECURITY: (
        ("咨询低保年审需要准备哪些材料", 1),
        ("灵活就业人员怎么缴纳社保", 1),
        ("申请残疾人两项补贴", 15),
    ),
    Cat.OTHER: (
        ("希望小区增设电动车集中充电桩", 15),
        ("小区门口路灯不亮，晚上出行不安全", 7),
        ("希望成立业主委员会", 15),
    ),
}
_GENERAL_NEEDS = (Cat.REPAIR, Cat.SANITATION, Cat.OTHER)


def iso(moment: datetime) -> str:
    """Tablets write local time with its offset: 2026-11-23T09:30:00.000+08:00."""
    return moment.isoformat(timespec="milliseconds")


def purpose_for(rng: random.Random, home: Home) -> Purpose:
    tags = set(home.tags)
    if home.open_needs and rng.random() < 0.6:
        return Purpose.FOLLOW_UP
    if tags & (ELDERLY | YOUNG | FRAIL) and rng.random() < 0.6:
        return Purpose.CARE_VISIT
    others = (
        Purpose.ROUTINE,
        Purpose.POLICY_PROMOTION,
        Purpose.NEEDS_COLLECTION,
        Purpose.HAZARD_CHECK,
        Purpose.DISPUTE_SCREENING,
    )
    return rng.choices(others, (35, 20, 15, 15, 15))[0]


def _situation(home: Home, purpose: Purpose) -> str:
    tags = set(home.tags)
    if purpose is Purpose.CARE_VISIT:
        if tags & {Tag.LIVING_ALONE, Tag.EMPTY_NEST}:
            return "elder"
        if Tag.VERY_OLD in tags:
            return "family_elder"
        if Tag.LEFT_BEHIND_CHILD in tags:
            return "left_behind"
        return "childcare" if Tag.CHILDCARE_NEED in tags else "frail"
    if purpose is Purpose.ROUTINE and Tag.MIGRANT in tags:
        return "renter"
    return purpose.value


def findings(rng: random.Random, home: Home, purpose: Purpose, year: int) -> str:
    elder, kids = home.oldest(), home.children(year)
    context = {
        "head": home.head.name,
        "n": len(home.members),
        "elder": elder.name,
        "elder_age": elder.age(year),
        "alone": "独自居住" if len(home.members) == 1 else "老两口一起生活",
        "child": kids[0].name if kids else "孩子",
        "child_age": kids[0].age(year) if kids else 6,
        "city": rng.choice(_CITIES),
        "job": home.job or "快递员",
        "building": home.address.building,
        "unit": home.address.unit,
        "prev_need": home.open_needs[0] if home.open_needs else "楼道灯不亮",
    }
    templates = _FINDINGS[_situation(home, purpose)]
    # "{elder}" templates speak of an old person: not for a household of thirty-year-olds.
    fitting = [t for t in templates if "{elder" not in t or elder.age(year) >= 70] or templates
    return rng.choice(fitting).format(**context)


def _category(rng: random.Random, home: Home) -> Cat:
    tags = set(home.tags)
    choices: list[Cat] = list(_GENERAL_NEEDS)
    if tags & ELDERLY:
        choices += [Cat.ELDERLY_CARE, Cat.ELDERLY_CARE, Cat.HEALTH]
    if tags & YOUNG:
        choices += [Cat.CHILDCARE, Cat.CHILDCARE]
    if Tag.NEW_EMPLOYMENT in tags or Tag.MIGRANT in tags:
        choices += [Cat.EMPLOYMENT, Cat.LEGAL_ADVICE]
    if tags & FRAIL:
        choices += [Cat.SOCIAL_SECURITY, Cat.SOCIAL_SECURITY]
    return rng.choice(choices)


def needs(
    rng: random.Random, home: Home, purpose: Purpose, day: date, past: bool
) -> list[dict[str, Any]]:
    """0–2 needs; more when collecting them. Older ones are mostly settled by now."""
    if purpose is Purpose.NEEDS_COLLECTION:
        count = rng.randint(1, 2)
    else:
        count = 1 if rng.random() < 0.35 else 0
    weights = (20, 25, 55) if past else (70, 25, 5)
    raised = []
    for _ in range(count):
        category = _category(rng, home)
        text, days = rng.choice(NEEDS[category])
        status = rng.choices(list(NeedStatus), weights)[0]
        raised.append(
            {
                "category": category.value,
                "text": text,
                "status": status.value,
                "deadline": (day + timedelta(days=days)).isoformat(),
            }
        )
    return raised


def visit_fields(
    rng: random.Random, home: Home, visitor: str, at: datetime, *, past: bool = False
) -> dict[str, Any]:
    """The fields of one visit (schemas.records.Visit) to `home` at `at`."""
    purpose = purpose_for(rng, home)
    fields: dict[str, Any] = {
        "household": home.doc_id,
        "visitor": visitor,
        "visited_at": iso(at),
        "purpose": purpose.value,
        "findings": findings(rng, home, purpose, at.year),
    }
    if rng.random() < 0.8:  # GPS is optional: off, or no fix in the stairwell
        compound = home.address.compound
        fields["gps"] = {
            "lat": round(compound.lat + rng.uniform(-0.0015, 0.0015), 6),
            "lon": round(compound.lon + rng.uniform(-0.0015, 0.0015), 6),
        }
    raised = needs(rng, home, purpose, at.date(), past)
    if raised:
        fields["needs"] = raised
    if purpose is Purpose.FOLLOW_UP:
        home.open_needs = home.open_needs[1:]
    home.open_needs += [need["text"] for need in raised if need["status"] != "resolved"]
    unsettled = any(need["status"] != NeedStatus.RESOLVED.value for need in raised)
    frail = purpose is Purpose.CARE_VISIT and set(home.tags) & ELDERLY and rng.random() < 0.5
    if unsettled or frail:
        fields["follow_up_due"] = (at.date() + timedelta(days=rng.choice((7, 14)))).isoformat()
    return fields
