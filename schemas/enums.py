"""The record enumerations: English codes in code and SQL, zh-CN labels for people.

Each member's value is its code. `member.label` is its zh-CN name (from `LABELS`).
Tablets may write either the code or the exact zh-CN label; `Coded.parse` maps both to
the member.

`LABELS` is keyed by enum class first: StrEnum members hash and compare as their string
values, so `NeedStatus.RESOLVED` and `CaseStatus.RESOLVED` would collide in one flat dict
(and their labels differ: 已解决 / 调解成功).
"""

from enum import StrEnum
from typing import Any, Self


class Coded(StrEnum):
    """An enumeration with English codes and zh-CN labels."""

    @property
    def label(self) -> str:
        return LABELS[type(self)][self]

    @classmethod
    def parse(cls, value: Any) -> Self | None:
        """The member whose code or zh-CN label is `value` (surrounding spaces ignored)."""
        if not isinstance(value, str):
            return None
        return _LOOKUPS[cls].get(value.strip())

    @classmethod
    def choices(cls) -> str:
        """`code (label), …` for messages and docs."""
        return ", ".join(f"{member.value} ({member.label})" for member in cls)


class RecordKind(Coded):
    HOUSEHOLD = "household"
    VISIT = "visit"
    CASE = "case"


class VisitPurpose(Coded):
    ROUTINE = "routine"
    CARE_VISIT = "care_visit"
    POLICY_PROMOTION = "policy_promotion"
    DISPUTE_SCREENING = "dispute_screening"
    HAZARD_CHECK = "hazard_check"
    NEEDS_COLLECTION = "needs_collection"
    FOLLOW_UP = "follow_up"


class NeedCategory(Coded):
    ELDERLY_CARE = "elderly_care"
    CHILDCARE = "childcare"
    EMPLOYMENT = "employment"
    HEALTH = "health"
    REPAIR = "repair"
    SANITATION = "sanitation"
    LEGAL_ADVICE = "legal_advice"
    SOCIAL_SECURITY = "social_security"
    OTHER = "other"


class NeedStatus(Coded):
    OPEN = "open"
    HANDED_OVER = "handed_over"
    RESOLVED = "resolved"


class HouseholdTag(Coded):
    LIVING_ALONE = "living_alone"
    EMPTY_NEST = "empty_nest"
    VERY_OLD = "very_old"
    LEFT_BEHIND_CHILD = "left_behind_child"
    CHILDCARE_NEED = "childcare_need"
    NEW_EMPLOYMENT = "new_employment"
    SUBSISTENCE_ALLOWANCE = "subsistence_allowance"
    DISABILITY = "disability"
    FAMILY_IN_DIFFICULTY = "family_in_difficulty"
    MIGRANT = "migrant"
    VETERAN = "veteran"
    PARTY_MEMBER = "party_member"
    PERSON_OF_CONCERN = "person_of_concern"


class CaseType(Coded):
    NEIGHBOURS = "neighbours"
    PROPERTY_MANAGEMENT = "property_management"
    RENOVATION = "renovation"
    MARRIAGE_FAMILY = "marriage_family"
    WAGES_LABOUR = "wages_labour"
    HOUSING_LAND = "housing_land"
    CONSUMER = "consumer"
    OTHER = "other"


class CaseLevel(Coded):
    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"


class CaseStatus(Coded):
    REGISTERED = "registered"
    ACCEPTED = "accepted"
    MEDIATING = "mediating"
    RESOLVED = "resolved"
    FAILED = "failed"
    ESCALATED = "escalated"
    CLOSED = "closed"


class PartyRole(Coded):
    APPLICANT = "applicant"
    RESPONDENT = "respondent"
    OTHER = "other"


class MediationMethod(Coded):
    AT_HOME = "at_home"
    PHONE = "phone"
    MEDIATION_ROOM = "mediation_room"
    ON_SITE = "on_site"


LABELS: dict[type[Coded], dict[Any, str]] = {
    RecordKind: {
        RecordKind.HOUSEHOLD: "户",
        RecordKind.VISIT: "走访记录",
        RecordKind.CASE: "矛盾纠纷",
    },
    VisitPurpose: {
        VisitPurpose.ROUTINE: "日常走访",
        VisitPurpose.CARE_VISIT: "关爱探访",
        VisitPurpose.POLICY_PROMOTION: "政策宣传",
        VisitPurpose.DISPUTE_SCREENING: "矛盾排查",
        VisitPurpose.HAZARD_CHECK: "安全隐患排查",
        VisitPurpose.NEEDS_COLLECTION: "需求收集",
        VisitPurpose.FOLLOW_UP: "回访",
    },
    NeedCategory: {
        NeedCategory.ELDERLY_CARE: "养老",
        NeedCategory.CHILDCARE: "托育",
        NeedCategory.EMPLOYMENT: "就业",
        NeedCategory.HEALTH: "医疗",
        NeedCategory.REPAIR: "维修",
        NeedCategory.SANITATION: "环境卫生",
        NeedCategory.LEGAL_ADVICE: "法律咨询",
        NeedCategory.SOCIAL_SECURITY: "社保低保",
        NeedCategory.OTHER: "其他",
    },
    NeedStatus: {
        NeedStatus.OPEN: "待处理",
        NeedStatus.HANDED_OVER: "已转办",
        NeedStatus.RESOLVED: "已解决",
    },
    HouseholdTag: {
        HouseholdTag.LIVING_ALONE: "独居老人",
        HouseholdTag.EMPTY_NEST: "空巢",
        HouseholdTag.VERY_OLD: "高龄",
        HouseholdTag.LEFT_BEHIND_CHILD: "留守儿童",
        HouseholdTag.CHILDCARE_NEED: "托育",
        HouseholdTag.NEW_EMPLOYMENT: "新就业群体",
        HouseholdTag.SUBSISTENCE_ALLOWANCE: "低保",
        HouseholdTag.DISABILITY: "残疾",
        HouseholdTag.FAMILY_IN_DIFFICULTY: "困难家庭",
        HouseholdTag.MIGRANT: "流动人口",
        HouseholdTag.VETERAN: "退役军人",
        HouseholdTag.PARTY_MEMBER: "党员",
        HouseholdTag.PERSON_OF_CONCERN: "重点人员",
    },
    CaseType: {
        CaseType.NEIGHBOURS: "邻里纠纷",
        CaseType.PROPERTY_MANAGEMENT: "物业纠纷",
        CaseType.RENOVATION: "装修纠纷",
        CaseType.MARRIAGE_FAMILY: "婚姻家庭",
        CaseType.WAGES_LABOUR: "劳资纠纷",
        CaseType.HOUSING_LAND: "房屋土地",
        CaseType.CONSUMER: "消费纠纷",
        CaseType.OTHER: "其他",
    },
    CaseLevel: {
        CaseLevel.GRID: "网格",
        CaseLevel.COMMUNITY: "社区",
        CaseLevel.STREET: "街道",
    },
    CaseStatus: {
        CaseStatus.REGISTERED: "登记",
        CaseStatus.ACCEPTED: "受理",
        CaseStatus.MEDIATING: "调解中",
        CaseStatus.RESOLVED: "调解成功",
        CaseStatus.FAILED: "调解不成",
        CaseStatus.ESCALATED: "上报",
        CaseStatus.CLOSED: "结案",
    },
    PartyRole: {
        PartyRole.APPLICANT: "申请人",
        PartyRole.RESPONDENT: "被申请人",
        PartyRole.OTHER: "其他",
    },
    MediationMethod: {
        MediationMethod.AT_HOME: "上门",
        MediationMethod.PHONE: "电话",
        MediationMethod.MEDIATION_ROOM: "调解室",
        MediationMethod.ON_SITE: "现场",
    },
}


def _check_labels() -> None:
    """Every member has a label, and no label of one enumeration names two members."""
    if set(Coded.__subclasses__()) != set(LABELS):
        raise RuntimeError("every enumeration needs its labels in LABELS")
    for cls, labels in LABELS.items():
        missing = [member for member in cls if member not in labels]
        if missing or len(set(labels.values())) != len(labels):
            raise RuntimeError(f"{cls.__name__}: labels missing or repeated")


_check_labels()
# Per class: code → member and zh-CN label → member.
_LOOKUPS: dict[type[Coded], dict[str, Any]] = {
    cls: {**{member.value: member for member in cls}, **{label: m for m, label in labels.items()}}
    for cls, labels in LABELS.items()
}
