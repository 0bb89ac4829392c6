"""The console's words in zh-CN (the default) and English, and labels for coded values.

A page asks `t("key")` in its template; the language comes from `?lang=` or, once chosen,
the `doorstep_lang` cookie. Enumerations carry their zh-CN label (`schemas.enums`,
`Role.label`); in English a code is shown prettified unless `ENGLISH_LABELS` says better.
"""

from typing import Any, Literal

from jinja2 import pass_context
from jinja2.runtime import Context

from schemas.enums import CaseLevel, CaseStatus, CaseType, Coded, HouseholdTag, VisitPurpose
from server.access.roles import Role

Lang = Literal["zh", "en"]
LANG_COOKIE = "doorstep_lang"
DEFAULT: Lang = "zh"

MESSAGES: dict[str, tuple[str, str]] = {
    # key: (zh-CN, English)
    "app": ("社区网格工作台", "Community grid console"),
    "login": ("登录", "Log in"),
    "logout": ("退出登录", "Log out"),
    "username": ("用户名", "Username"),
    "password": ("密码", "Password"),
    "login_failed": ("用户名或密码错误", "Wrong username or password"),
    "too_many_attempts": (
        "失败次数过多，请 {seconds} 秒后再试",
        "Too many failed attempts: try again in {seconds} s",
    ),
    "visits": ("走访记录", "Visits"),
    "cases": ("矛盾纠纷", "Cases"),
    "households": ("住户", "Households"),
    "filter": ("筛选", "Filter"),
    "clear": ("清除", "Clear"),
    "any": ("全部", "Any"),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
    "next_page": ("下一页", "Next page"),
    "no_records": ("没有符合条件的记录", "No records match"),
    "grid": ("网格", "Grid"),
    "member": ("网格员", "Grid member"),
    "since": ("起始日期", "From"),
    "until": ("截止日期", "Until"),
    "purpose": ("走访目的", "Purpose"),
    "household": ("住户", "Household"),
    "status": ("状态", "Status"),
    "level": ("层级", "Level"),
    "type": ("类型", "Type"),
    "review": ("审核", "Review"),
    "review_state": ("审核状态", "Review"),
    "has_conflict": ("有冲突", "Has conflict"),
    "has_issues": ("有问题", "Has issues"),
    "issue_count": ("问题数", "Issues"),
    "doc_id": ("编号", "ID"),
    "created_at": ("创建时间", "Created"),
    "created_by": ("创建人", "Created by"),
    "visitor": ("走访人", "Visitor"),
    "visited_at": ("走访时间", "Visited at"),
    "findings": ("走访情况", "Findings"),
    "title": ("标题", "Title"),
    "address": ("地址", "Address"),
    "head_name": ("户主", "Head of household"),
    "phone": ("电话", "Phone"),
    "not_reviewed": ("待审核", "Not reviewed"),
    "fields": ("字段", "Fields"),
    "notes": ("记录时间线", "Notes timeline"),
    "history": ("修改历史", "Field history"),
    "conflicts": ("未解决的冲突", "Open conflicts"),
    "issues": ("校验问题", "Validation issues"),
    "none": ("无", "None"),
    "field": ("字段", "Field"),
    "value": ("值", "Value"),
    "previous": ("原值", "Previous"),
    "by": ("修改人", "By"),
    "at": ("时间", "When"),
    "device": ("设备", "Device"),
    "current_value": ("当前值", "Current value"),
    "back_to_list": ("返回列表", "Back to the list"),
    "not_found": ("记录不存在，或不在您的管辖范围内", "No such record in your area"),
    "forbidden": ("您的角色无权查看记录", "Your role may not read records"),
    "bad_request": ("请求有误", "Something in the request is not right"),
    "error": ("出错了", "Something went wrong"),
    "logged_in_as": ("当前用户", "Logged in as"),
    "language": ("English", "中文"),
    "review_actions": ("审核操作", "Review"),
    # Export links on a list page (server/console/exports.py).
    "export_csv": ("导出 CSV", "Export CSV"),
    "export_xlsx": ("导出 Excel", "Export Excel"),
    # Review and conflicts on a record's page (server/console/review.py).
    "act_approve": ("审核通过", "Approve"),
    "act_send_back": ("退回修改", "Send back"),
    "act_accept": ("受理", "Accept"),
    "act_escalate": ("上报", "Escalate"),
    "act_close": ("办结", "Close"),
    "review_comment": ("退回意见（需补充或修改的内容）", "What to fix"),
    "review_reason": ("上报理由", "Why it goes up"),
    "escalate_to": ("上报至{level}", "Escalate to {level}"),
    "review_note": ("审核", "Review"),
    "review_done": ("已保存：{action}", "Saved: {action}"),
    "done_resolved": ("冲突已解决", "Conflict resolved"),
    "use_value": ("采用此值", "Use this value"),
    "new_value": ("或输入新值", "Or type a new value"),
    "resolve": ("确定", "Resolve"),
    "err_comment_required": ("退回时请写明需要补充或修改的内容", "Say what to fix"),
    "err_reason_required": ("上报时请写明理由", "Say why the case goes up a level"),
    "err_cannot_escalate": ("已是街道层级，无法再上报", "At street level: nowhere higher"),
    "err_level_changed": (
        "案件层级已被他人改变，请核对后再操作",
        "Someone changed the case's level meanwhile: check and try again",
    ),
    "err_action_not_for_kind": ("只有矛盾纠纷可以这样处理", "Only cases take this action"),
    "err_unknown_conflict": ("该冲突已解决或不存在", "That conflict is settled or gone"),
    "err_value_required": ("请选择一个值或输入新值", "Choose a value or type a new one"),
    "err_too_long": ("内容过长（最多 1000 字）", "Too long (at most 1000 characters)"),
    "err_unknown_action": ("未知的审核操作", "No such review action"),
    "err_unreadable_document": (
        "此记录的文档含有无法读取的内容，不能审核或修改；请联系系统管理员",
        "This record's document holds content that cannot be read: it cannot be reviewed "
        "or changed. Ask the system administrator",
    ),
    "err_too_deep": ("值的层级过深，无法保存", "The value nests too deep to be stored"),
    "err_value_too_large": ("值过大，无法保存", "The value is too large to be stored"),
    "unreadable_record": (
        "此记录的文档含有旧版本服务器未经检查存入的内容，无法完整读取：以下只显示其中可读的部分，"
        "不能审核或修改。详见“校验问题”。",
        "This record's document holds content an older server stored unchecked and cannot be "
        "read in full: only its readable part is shown, and it cannot be reviewed or changed. "
        "See the validation issues.",
    ),
    # The dashboard (server/console/dashboard.py).
    "dashboard": ("工作概览", "Dashboard"),
    "visits_per_day": ("每日走访量（按网格）", "Visits per day, by grid"),
    "needs_by_category": ("群众诉求（按类别和办理状态）", "Needs by category and status"),
    "cases_by_type": ("矛盾纠纷类型", "Disputes by type"),
    "cases_by_level": ("矛盾纠纷层级", "Disputes by level"),
    "cases_by_status": ("矛盾纠纷办理状态", "Disputes by status"),
    "resolution_rate": ("化解率", "Resolution rate"),
    "resolved_cases": ("已化解或办结", "Resolved or closed"),
    "unresolved_cases": ("未化解", "Not resolved"),
    "overdue_cases": ("逾期未办结的纠纷", "Overdue disputes"),
    "overdue_needs": ("逾期未办结的诉求", "Overdue needs"),
    "silent_devices": ("{days} 天以上未同步的设备", "Devices not synced for {days} days"),
    "silent_days": ("未同步天数", "Days without sync"),
    "last_sync": ("最近同步", "Last sync"),
    "never_synced": ("从未同步", "Never synced"),
    "no_data": ("本期无数据", "No data in this period"),
    "figures": ("查看数据", "Figures"),
    "as_of_now": ("以下为截至目前的待办情况", "Outstanding as of now"),
    # Members and devices (server/console/devices.py).
    "members_devices": ("人员与设备", "Members and devices"),
    "units": ("所属网格", "Grids"),
    "account_disabled": ("账号已停用", "Account disabled"),
    "app_version": ("应用版本", "App version"),
    "device_active": ("正常", "Active"),
    "device_revoked_at": ("已吊销（{at}）", "Revoked ({at})"),
    "not_synced_for": ("{days} 天以上未同步", "Not synced for {days} days"),
    "revoke_device": ("吊销", "Revoke"),
    "device_revoked_done": ("设备已吊销，下次连接将被拒绝", "Revoked: its next request is refused"),
    "no_devices": ("尚无设备", "No devices yet"),
    "no_members": ("您的网格内没有可管理的人员", "Nobody in your grids to manage"),
    "new_device_name": ("新平板名称", "New tablet's name"),
    "enroll_tablet": ("登记平板", "Enroll a tablet"),
    "enroll_code_for": ("“{name}”的一次性登记码", "One-time enrollment code for “{name}”"),
    "enroll_expires": ("有效期至 {at}", "Valid until {at}"),
    "enroll_once": (
        "在平板上扫描二维码或输入登记码；只能使用一次，离开本页后不再显示",
        "Scan the QR code or type the code on the tablet; it works once and is not shown again",
    ),
    "err_device_name": (
        "请填写设备名称（最多 100 字）",
        "Give the device a name (at most 100 characters)",
    ),
    # Overdue work (server/console/overdue.py).
    "overdue_work": ("逾期事项", "Overdue work"),
    "overdue_explained": (
        "每晚按逾期规则检查：回访、诉求和矛盾纠纷超过期限即列于此处，办结后自动移除。",
        "Checked every night by the overdue rules: follow-ups, needs and disputes past their "
        "time are listed here until they are done.",
    ),
    "overdue_what": ("逾期事项", "What is overdue"),
    "overdue_due": ("应办日期", "Due"),
    "overdue_days": ("逾期天数", "Days overdue"),
    "overdue_flagged_at": ("发现时间", "Flagged"),
    "overdue_follow_up": ("回访逾期", "Follow-up visit overdue"),
    "overdue_need_deadline": ("诉求超过办理期限", "Need past its deadline"),
    "overdue_need_size": ("诉求超过规定天数（{size}）", "Need open too long ({size})"),
    "overdue_case_deadline": ("纠纷超过办理期限", "Dispute past its deadline"),
    "overdue_case_status": (
        "纠纷处于“{status}”超过规定天数",
        "Dispute left at “{status}” too long",
    ),
    "overdue_more": ("仅显示逾期最久的 500 项", "Only the 500 longest overdue are shown"),
    "no_overdue": ("没有逾期事项", "Nothing is overdue"),
    "size_small": ("小事", "small"),
    "size_medium": ("一般", "medium"),
    "size_large": ("复杂", "large"),
    # Importing a households register (server/console/households_import.py).
    "import_households": ("导入住户台账", "Import a households register"),
    "import_intro": (
        "上传 CSV 或 Excel（.xlsx）格式的住户台账：第一行为表头，每行一户。",
        "Upload the register as CSV or Excel (.xlsx): a header row, then one household a row.",
    ),
    "import_rule": (
        "有任何一行出错时不会导入任何数据：请修正文件后重新上传。已存在的住户（此前导入过，"
        "或平板已登记同一地址）不会重复创建。",
        "If any row has an error nothing is imported: fix the file and upload it again. "
        "Households that exist (imported before, or recorded on a tablet at the same "
        "address) are not created again.",
    ),
    "import_limits": (
        "文件不超过 {mb} MB、{rows} 行；网格、小区、室为必填。",
        "At most {mb} MB and {rows} rows; grid, compound and room are required.",
    ),
    "import_headers": ("可识别的表头", "Headers understood"),
    "import_members_format": (
        "家庭成员格式：姓名/关系/出生年份/身份证号，多人用分号隔开；标签用顿号或逗号隔开。",
        "Members: name/relation/birth year/ID number, separated by semicolons; "
        "tags separated by commas.",
    ),
    "import_file": ("台账文件", "Register file"),
    "import_preview": ("预览", "Preview"),
    "import_confirm": ("确认导入 {count} 户", "Import {count} households"),
    "import_summary": (
        "共 {rows} 行：新建 {new} 户，已存在 {existing} 户，出错 {errors} 行。",
        "{rows} rows: {new} new households, {existing} existing, {errors} rows with errors.",
    ),
    "import_done": (
        "已导入 {created} 户；{existing} 户已存在，未重复创建。",
        "Imported {created} households; {existing} existed and were not created again.",
    ),
    "import_fix_first": (
        "请修正以上错误后重新上传；本次没有写入任何数据。",
        "Fix the errors above and upload the file again; nothing was written.",
    ),
    "import_nothing_new": ("没有需要新建的住户。", "No new households to create."),
    "import_ignored": (
        "未识别的列（已忽略）：{columns}",
        "Columns not understood (ignored): {columns}",
    ),
    "import_row": ("行号", "Row"),
    "import_column": ("列", "Column"),
    "import_problem": ("问题", "Problem"),
    "import_whole_row": ("整行", "Whole row"),
    "import_status_new": ("将新建", "New"),
    "import_status_created": ("已创建", "Created"),
    "import_status_imported": ("此前已导入", "Imported before"),
    "import_status_recorded": ("平板已登记", "Recorded on a tablet"),
    "import_err_required": ("必填", "Required"),
    "import_err_missing_column": ("文件缺少此列", "The file has no such column"),
    "import_err_grid_out_of_scope": (
        "“{detail}”不是您管辖的网格",
        "“{detail}” is not one of your grids",
    ),
    "import_err_duplicate_row": ("与第 {detail} 行地址相同", "Same address as row {detail}"),
    "import_err_invalid": ("{detail}", "{detail}"),
    "col_grid": ("网格", "Grid"),
    "col_compound": ("小区", "Compound"),
    "col_building": ("楼栋", "Building"),
    "col_unit": ("单元", "Unit"),
    "col_room": ("室", "Room"),
    "col_head_name": ("户主", "Head of household"),
    "col_phone": ("联系电话", "Phone"),
    "col_members": ("家庭成员", "Members"),
    "col_tags": ("标签", "Tags"),
    # A projected column (visits, their needs): when a visit counts, visited_at else created.
    "happened_at": ("统计时间", "Counted at"),
    # Search, saved views, bulk approval and related records (server/console/records.py).
    "search": ("搜索", "Search"),
    "search_hint_visits": ("走访人、走访情况、住户地址", "Visitor, findings, address"),
    "search_hint_cases": ("标题、地点、经过、当事人", "Title, place, description, parties"),
    "search_hint_households": ("小区、楼栋、房号、户主、成员", "Compound, building, room, names"),
    "saved_views": ("我的常用筛选", "My saved views"),
    "no_views": ("尚未保存", "None saved yet"),
    "view_name": ("名称", "Name"),
    "save_view": ("保存当前筛选", "Save these filters"),
    "delete_view": ("删除", "Delete"),
    "select": ("选择", "Select"),
    "approve_selected": ("批量审核通过所选记录", "Approve the selected records"),
    "bulk_done": (
        "已审核通过 {approved} 条，跳过 {skipped} 条",
        "Approved {approved}, skipped {skipped}",
    ),
    "household_visits": ("该住户的走访记录", "This household's visits"),
    "all_household_visits": ("在走访列表中查看全部", "All of them in the visits list"),
    "cases_not_linked": (
        "矛盾纠纷记录不关联住户，故此处不列出",
        "Cases do not name a household, so none are listed here",
    ),
    "unknown_device": ("未知设备 {id}", "Unknown device {id}"),
    "compound": ("小区", "Compound"),
    "building": ("楼栋", "Building"),
    "unit": ("单元", "Unit"),
    "room": ("房号", "Room"),
}

ENGLISH_LABELS = {
    "approved": "Approved",
    "sent_back": "Sent back",
    "edited": "Edited",
    "accepted": "Accepted",
    "escalated": "Escalated",
    "closed": "Closed",
}
CHINESE_LABELS = {
    "approved": "已通过",
    "sent_back": "已退回",
    "edited": "已修改待复核",
    "accepted": "已受理",
    "escalated": "已上报",
    "closed": "已办结",
}

# The coded columns of the record tables, and the enumeration of their values.
CODED: dict[str, type[Coded]] = {
    "purpose": VisitPurpose,
    "type": CaseType,
    "level": CaseLevel,
    "status": CaseStatus,
    "tag": HouseholdTag,
}


def language(asked: str | None, remembered: str | None) -> Lang:
    for choice in (asked, remembered):
        if choice in ("zh", "en"):
            return "en" if choice == "en" else "zh"
    return DEFAULT


def translate(lang: Lang, key: str, **values: Any) -> str:
    zh, en = MESSAGES.get(key, (key, key))
    return (en if lang == "en" else zh).format(**values)


def prettified(code: str) -> str:
    """`care_visit` → `Care visit`."""
    return code.replace("_", " ").capitalize()


def label(lang: Lang, column: str, code: Any) -> str:
    """How a coded value of `column` reads in `lang`; anything unknown as written."""
    if code is None:
        return ""
    text = str(code)
    enum = CODED.get(column)
    member = enum.parse(text) if enum else None
    if column == "review_state":
        zh = CHINESE_LABELS.get(text, text)
        return ENGLISH_LABELS.get(text, prettified(text)) if lang == "en" else zh
    if member is None:
        return text
    return prettified(member.value) if lang == "en" else member.label


def role_label(lang: Lang, role: Role | None) -> str:
    if role is None:
        return ""
    return prettified(role.value) if lang == "en" else role.label


def choices(lang: Lang, column: str) -> list[tuple[str, str]]:
    """(code, label) of every value a filter on `column` may take."""
    codes: list[str] = (
        list(CHINESE_LABELS) if column == "review_state" else [m.value for m in CODED[column]]
    )
    return [(code, label(lang, column, code)) for code in codes]


def _lang_of(context: Context) -> Lang:
    lang = context.get("lang", DEFAULT)
    return "en" if lang == "en" else "zh"


@pass_context
def t(context: Context, key: str, **values: Any) -> str:
    return translate(_lang_of(context), key, **values)


@pass_context
def coded(context: Context, column: str, code: Any) -> str:
    return label(_lang_of(context), column, code)


JINJA_GLOBALS: dict[str, Any] = {"t": t, "coded": coded}
