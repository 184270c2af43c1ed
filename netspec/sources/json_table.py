"""The ``json_table`` source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Literal

from .base import SOURCES
from .tabular import Tabular

if TYPE_CHECKING:
    from pathlib import Path

    from ..data.faults import Faults, Origin
    from ..errors import SpecPath


@SOURCES.register
class JsonTable(Tabular):
    """A JSON file holding a list of records (objects with the same keys), columns taken by name like csv."""
    FIELDS: ClassVar[str] = ("like csv: `features` (F,) float32, categorical columns one-hot encoded; `target` (a class "
                             "index, or the number(s) of a regression)")
    EXAMPLE: ClassVar[str] = "{type: json_table, path: houses.json, target: price, categorical: [city]}"
    type: Literal["json_table"]

    def rows(self, file: Path, path: SpecPath, faults: Faults) -> tuple[dict[str, Any], Origin]:
        """Column name -> array of the records' values, and the record number (1-based) of each row."""
        import json

        import numpy as np

        from ..data.faults import Origin
        from ..errors import DataError

        where = path + ("path",)
        try:
            records = json.loads(file.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as exc:
            raise DataError(f"{file}, line {exc.lineno}: not valid JSON ({exc.msg})", path=where) from None
        if not isinstance(records, list) or not records or not isinstance(records[0], dict):
            what = "an empty list" if records == [] else f"a JSON {type(records).__name__}" if not isinstance(records, list) \
                else "a list whose first item is not an object"
            raise DataError(f"{file} holds {what}, not a list of records", path=where,
                            hint='a list of objects with the same keys: [{"area": 50, "price": 300}, ...]')
        names = list(records[0])
        body, numbers, bad = [], [], faults.of(file, where)
        for i, record in enumerate(records, start=1):
            if not isinstance(record, dict) or set(record) != set(names):
                problem = ("not an object" if not isinstance(record, dict)
                           else f"keys {sorted(record)} differ from the first record's {sorted(names)}")
                bad.bad(f"{file}, record {i}", problem, "ragged record")
                continue
            body.append([record[n] for n in names])
            numbers.append(i)
        cols = {name: np.asarray([row[j] for row in body], dtype=object) for j, name in enumerate(names)}
        return cols, Origin(str(file), "record", np.asarray(numbers, dtype=np.int64), total=len(records))
