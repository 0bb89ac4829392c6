"""Made-up people for the demo: zh-CN names, mobile numbers, ID numbers, addresses.

Names follow the generation a person was born in (建国 and 秀英 are grandparents, 梓轩
and 子涵 are children). Now and then a name carries a rare character — 䶮 (CJK
extension A) or 𠀀 (extension B, outside the BMP) — or a rare surname, because real
registers have them and every layer must keep them intact.
"""

import random
from dataclasses import dataclass
from datetime import date

from server.demo.org import Compound

# Surname → relative weight: the national top names, the Zhejiang ones, a few compound
# and rare ones.
_SURNAMES: dict[str, float] = {
    **dict.fromkeys("王李张刘陈", 6.0),
    **dict.fromkeys("杨黄赵吴周徐孙沈钱朱胡", 3.0),
    **dict.fromkeys(
        "马郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任姚卢姜崔"
        "钟谭陆汪范金石廖贾夏韦方邹孟熊秦邱江尹薛段雷侯史陶贺顾毛郝龚邵严戴莫孔俞施"
        "章楼应屠",
        1.0,
    ),
    **dict.fromkeys(("欧阳", "司马", "上官", "诸葛"), 0.1),
    **dict.fromkeys("禤亓仉訾冼乜", 0.05),
}
_SURNAME_LIST = list(_SURNAMES)
_SURNAME_WEIGHTS = list(_SURNAMES.values())

# (born up to this year, male names, female names)
_GIVEN: tuple[tuple[int, str, str], ...] = (
    (
        1962,
        "建国 国庆 德明 建华 国华 永康 福生 根宝 金海 树林 卫东 文斌 长根 水根 荣华 炳坤",
        "秀英 桂英 淑芬 玉兰 凤英 秀兰 桂芳 美娟 月娥 素珍 金花 彩凤 爱华 巧英 菊芬 宝娣",
    ),
    (
        1985,
        "伟 强 磊 军 勇 斌 涛 明 超 杰 海峰 建军 志刚 晓东 国平 卫国 俊 华 剑 鹏",
        "芳 丽 静 敏 燕 娟 霞 红 艳 玲 海燕 晓红 丽萍 雪梅 红梅 美华 慧 婷",
    ),
    (
        2005,
        "浩 宇 晨 昊 浩然 子豪 俊杰 宇航 泽宇 家豪 晨阳 一鸣 博文 嘉诚 天翊 梓豪",
        "婷婷 雨欣 佳怡 欣悦 思琪 梦瑶 诗雨 晓雯 雨婷 可欣 佳琪 悦 琳 倩 瑶 萱",
    ),
    (
        9999,
        "梓轩 浩宇 子墨 宇轩 一诺 沐阳 睿 奕辰 俊熙 皓轩 铭泽 承泽",
        "子涵 欣怡 诗涵 梓涵 一诺 雨桐 可馨 若汐 芷若 沐晴 语汐 依诺",
    ),
)
_RARE_GIVEN = ("䶮", "𠀀", "堃", "喆", "淼", "赟", "玥", "珺")
RARE_NAME_CHANCE = 0.015

# Mainland mobile prefixes in use (the number is 1[3-9]\d{9}).
_MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)
# Administrative division codes: 临平区 for locals, a few provinces migrants come from.
LOCAL_REGION = "330113"
MIGRANT_REGIONS = ("341222", "511321", "412822", "362330", "522426", "342623")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    male: bool
    birth_year: int
    relation: str
    id_number: str | None = None

    def age(self, year: int) -> int:
        return year - self.birth_year


def surname(rng: random.Random) -> str:
    return rng.choices(_SURNAME_LIST, _SURNAME_WEIGHTS)[0]


def given_name(rng: random.Random, male: bool, birth_year: int) -> str:
    if rng.random() < RARE_NAME_CHANCE:
        rare = rng.choice(_RARE_GIVEN)
        return rare if rng.random() < 0.5 else rng.choice("子嘉文思") + rare
    for until, men, women in _GIVEN:
        if birth_year <= until:
            return rng.choice((men if male else women).split())
    raise AssertionError("the last generation has no upper bound")


def full_name(rng: random.Random, male: bool, birth_year: int, family: str | None = None) -> str:
    return (family or surname(rng)) + given_name(rng, male, birth_year)


def mobile(rng: random.Random) -> str:
    """A mainland mobile number, `1[3-9]\\d{9}`."""
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def id_number(rng: random.Random, birth_year: int, male: bool, region: str) -> str:
    """A well-formed resident ID number (GB 11643: ISO 7064 MOD 11-2 check character)."""
    born = date(birth_year, rng.randint(1, 12), rng.randint(1, 28))
    order = rng.randrange(500) * 2 + (1 if male else 0)
    body = f"{region}{born:%Y%m%d}{order:03d}"
    total = sum(int(digit) * weight for digit, weight in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


def person(
    rng: random.Random,
    *,
    male: bool,
    born: int,
    relation: str,
    family: str | None = None,
    region: str = LOCAL_REGION,
) -> Person:
    """Someone in a household; seven in ten have their ID number on record."""
    recorded = rng.random() < 0.7
    return Person(
        full_name(rng, male, born, family),
        male,
        born,
        relation,
        id_number(rng, born, male, region) if recorded else None,
    )


@dataclass(frozen=True, slots=True)
class Address:
    compound: Compound
    building: str
    unit: str
    room: str

    def __str__(self) -> str:
        return f"{self.compound.name}{self.building}{self.unit}{self.room}室"


def address(rng: random.Random, compound: Compound, taken: set[str]) -> Address:
    """A free flat in the compound: `12幢`, `2单元`, `502` (floor and door)."""
    doors = 2 if compound.floors > 7 else 3
    while True:
        building = rng.randint(compound.first, compound.last)
        unit = rng.randint(1, compound.units)
        room = rng.randint(1, compound.floors) * 100 + rng.randint(1, doors)
        key = f"{compound.name}/{building}/{unit}/{room}"
        if key not in taken:
            taken.add(key)
            return Address(compound, f"{building}幢", f"{unit}单元", str(room))
