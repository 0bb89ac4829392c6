"""The `fields` of each record kind, as msgspec Structs (docs/record-schemas.md).

Offline drafts are partial, so every field has a default except the few a record cannot
be without (a visit's household, a case's title). New fields must always get defaults:
tablets in the field run old versions for months. `ZH` names each field in zh-CN for
people (messages, the console).

The limits are also what the SQL columns can hold: strings never carry NUL (PostgreSQL text
refuses it) or unpaired surrogates (not UTF-8), and never exceed their column's length.
"""

import uuid
from datetime import date, datetime
from typing import Annotated, ClassVar

import msgspec
from msgspec import Meta

from schemas.enums import (
    CaseLevel,
    CaseStatus,
    CaseType,
    HouseholdTag,
    NeedCategory,
    NeedStatus,
    PartyRole,
    RecordKind,
    VisitPurpose,
)

# Text a database can store: no NUL, no unpaired surrogate.
STORABLE = r"^[^\x00\ud800-\udfff]*$"
# Mainland mobile (11 digits from 1) or a landline with its area code (0571-88888888).
PHONE = r"^(?:1[0-9]{10}|0[0-9]{2,3}-?[0-9]{7,8})\Z"
# Resident ID card number: 17 digits and a check character (digit or X).
ID_NUMBER = r"^[0-9]{17}[0-9Xx]\Z"

Name = Annotated[str, Meta(max_length=100, pattern=STORABLE)]
Short = Annotated[str, Meta(max_length=50, pattern=STORABLE)]
Line = Annotated[str, Meta(max_length=200, pattern=STORABLE)]
Text = Annotated[str, Meta(max_length=2_000, pattern=STORABLE)]
LongText = Annotated[str, Meta(max_length=10_000, pattern=STORABLE)]
Title = Annotated[str, Meta(min_length=1, max_length=200, pattern=STORABLE)]
Phone = Annotated[str, Meta(max_length=13, pattern=PHONE)]
IdNumber = Annotated[str, Meta(min_length=18, max_length=18, pattern=ID_NUMBER)]
BirthYear = Annotated[int, Meta(ge=1900, le=2100)]
Latitude = Annotated[float, Meta(ge=-90, le=90)]
Longitude = Annotated[float, Meta(ge=-180, le=180)]
# Tablets write ISO 8601 with the offset (2026-11-23T09:30:00.000+08:00).
AwareDateTime = Annotated[datetime, Meta(tz=True)]

MAX_MEMBERS = 50
MAX_TAGS = 20
MAX_NEEDS = 50
MAX_PARTIES = 50


class RecordFields(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Base of the record field types; `ZH` maps each field to its zh-CN name."""

    ZH: ClassVar[dict[str, str]] = {}


class Member(RecordFields):
    name: Name | None = None
    relation: Short | None = None
    birth_year: BirthYear | None = None
    id_number: IdNumber | None = None

    ZH: ClassVar[dict[str, str]] = {
        "name": "姓名",
        "relation": "与户主关系",
        "birth_year": "出生年份",
        "id_number": "身份证号",
    }


class Household(RecordFields):
    compound: Name | None = None
    building: Short | None = None
    unit: Short | None = None
    room: Short | None = None
    head_name: Name | None = None
    phone: Phone | None = None
    members: Annotated[list[Member], Meta(max_length=MAX_MEMBERS)] = []
    tags: Annotated[list[HouseholdTag], Meta(max_length=MAX_TAGS)] = []

    ZH: ClassVar[dict[str, str]] = {
        "compound": "小区",
        "building": "楼栋",
        "unit": "单元",
        "room": "室",
        "head_name": "户主",
        "phone": "联系电话",
        "members": "家庭成员",
        "tags": "标签",
    }


class GeoPoint(RecordFields, forbid_unknown_fields=False):
    # Location APIs add accuracy, altitude, …: kept in the document, ignored here.
    lat: Latitude
    lon: Longitude

    ZH: ClassVar[dict[str, str]] = {"lat": "纬度", "lon": "经度"}


class Need(RecordFields):
    category: NeedCategory | None = None
    text: Text | None = None
    status: NeedStatus = NeedStatus.OPEN
    deadline: date | None = None

    ZH: ClassVar[dict[str, str]] = {
        "category": "诉求类别",
        "text": "诉求内容",
        "status": "办理状态",
        "deadline": "办理期限",
    }


class Visit(RecordFields):
    # Required: a visit without its household is invalid.
    household: uuid.UUID
    visitor: Name | None = None
    visited_at: AwareDateTime | None = None
    gps: GeoPoint | None = None
    purpose: VisitPurpose | None = None
    findings: LongText | None = None
    needs: Annotated[list[Need], Meta(max_length=MAX_NEEDS)] = []
    follow_up_due: date | None = None

    ZH: ClassVar[dict[str, str]] = {
        "household": "走访户",
        "visitor": "走访人",
        "visited_at": "走访时间",
        "gps": "定位",
        "purpose": "走访目的",
        "findings": "走访情况",
        "needs": "诉求",
        "follow_up_due": "回访期限",
    }


class Party(RecordFields):
    name: Name | None = None
    role: PartyRole | None = None
    contact: Name | None = None

    ZH: ClassVar[dict[str, str]] = {"name": "姓名", "role": "身份", "contact": "联系方式"}


class Case(RecordFields):
    title: Title
    type: CaseType | None = None
    parties: Annotated[list[Party], Meta(max_length=MAX_PARTIES)] = []
    place: Line | None = None
    occurred_at: AwareDateTime | None = None
    description: LongText | None = None
    level: CaseLevel = CaseLevel.GRID
    status: CaseStatus = CaseStatus.REGISTERED
    deadline: date | None = None
    # Supervision (督办) marks a case urgent.
    urgent: bool = False
    outcome: LongText | None = None
    agreement: LongText | None = None

    ZH: ClassVar[dict[str, str]] = {
        "title": "标题",
        "type": "纠纷类型",
        "parties": "当事人",
        "place": "发生地点",
        "occurred_at": "发生时间",
        "description": "纠纷描述",
        "level": "层级",
        "status": "状态",
        "deadline": "办理期限",
        "urgent": "督办",
        "outcome": "调解结果",
        "agreement": "调解协议",
    }


RECORD_FIELDS: dict[RecordKind, type[RecordFields]] = {
    RecordKind.HOUSEHOLD: Household,
    RecordKind.VISIT: Visit,
    RecordKind.CASE: Case,
}
