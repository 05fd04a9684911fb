"""Numbers as people read them: the one number formatter of every renderer.

Counts get thousands separators (`117,600`); symbolic counts print as their expanded
polynomial; exact rationals as `p/q`, short decimals or percentages; byte counts with a binary
unit. The core returns numbers (ints, Fractions, sympy expressions), never text.

Imported on the start-up path (`count_text`): nothing here imports fractions, decimal or sympy
at module level (a Fraction argument exists only once fractions has been imported by someone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncalc import arith

if TYPE_CHECKING:
    from fractions import Fraction


# ----------------------------------------------------------------------------- counts


def count_text(value: Any) -> str:
    """An integer with thousands separators; symbolic counts as their expanded polynomial."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return arith.as_text(value)


def value_text(value: Any) -> str:
    """A value without separators: ints plainly, symbolic values expanded (`9*k**2 + 128*k`)."""
    return arith.as_text(value)


def count_json(value: Any) -> Any:
    """A count for JSON: an int as it is, anything else as `arith.as_json` gives it."""
    return value if type(value) is int else arith.as_json(value)


def bytes_text(value: Any) -> str:
    """Bytes with a binary unit beside the exact count: `3,211,264 B (3.06 MiB)`."""
    if not isinstance(value, int):
        return arith.as_text(value) + " B"
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size:
            return f"{value:,} B ({_rounded(value, size, 2)} {unit})"
    return f"{value:,} B"


def _rounded(numerator: int, denominator: int, places: int) -> str:
    """numerator/denominator with `places` decimals, rounded half to even as float formatting
    does, but exact at any size (a float overflows past 1e308: a spec may hold 10**400)."""
    quotient, remainder = divmod(abs(numerator) * 10**places, denominator)
    if 2 * remainder > denominator or (2 * remainder == denominator and quotient % 2):
        quotient += 1
    sign = "-" if (numerator < 0) != (denominator < 0) and numerator else ""  # -0.00, as floats print
    whole, frac = divmod(quotient, 10**places)
    return f"{sign}{whole}" + (f".{frac:0{places}d}" if places else "")


# ----------------------------------------------------------------------------- exact rationals


def fraction_text(value: Any) -> str:
    """An exact ratio as one fraction: 2/5, 3 (denominator 1), or a symbolic ratio brought over one
    denominator, (9*k**2 + 130*k + 64)/73856, rather than as expanded terms."""
    if arith.is_symbolic(value):
        import sympy

        return str(sympy.together(sympy.expand(value)))
    if isinstance(value, arith.Fraction):
        exact: Fraction = value  # arith.Fraction is fractions.Fraction to mypy
        return str(exact.numerator) if exact.denominator == 1 else f"{exact.numerator}/{exact.denominator}"
    return arith.as_text(value)


def decimal_text(value: Fraction, places: int = 4) -> str:
    """A Fraction as a short decimal: exact when it terminates within `places`, else rounded."""
    scaled = value * 10**places
    if scaled.denominator == 1:
        whole, frac = divmod(abs(scaled.numerator), 10**places)
        text = str(whole) + (("." + str(frac).rjust(places, "0").rstrip("0")) if frac else "")
        return ("-" if value < 0 else "") + text
    return _rounded(value.numerator, value.denominator, places)


def rational_text(value: Fraction, places: int = 6) -> str:
    """An exact rational: a short decimal when it terminates within `places` (29491.2), else p/q."""
    if (value * 10**places).denominator == 1:
        return decimal_text(value, places)
    return fraction_text(value)


def approx_text(value: Fraction) -> str:
    """An exact rational for people: a short decimal when it terminates, else p/q and its decimal."""
    text = rational_text(value)
    return text if "/" not in text else f"{text} (~{decimal_text(value, 4)})"


def fixed_text(value: float, places: int = 4) -> str:
    """A float with a fixed number of decimals: 50.5722."""
    return f"{value:.{places}f}"


def json_number(value: Fraction) -> int | float | str:
    """An exact rational for JSON: an int when whole, else its float (its exact text `p/q`
    beyond a float's range)."""
    if value.denominator == 1:
        return int(value)
    try:
        return float(value)
    except OverflowError:
        return fraction_text(value)


# ----------------------------------------------------------------------------- percentages and ratios


def percent(value: Fraction) -> str:
    """A fraction as an exact short percentage: 1/2 -> '50%', 1/3 -> '33.3333%'."""
    return decimal_text(value * 100, 4) + "%"


def percent_fixed(value: Any, places: int = 2) -> str:
    """A fraction as a percentage rounded to `places` decimals: 0.5123 -> '51.23%'."""
    if isinstance(value, float):
        return f"{value * 100:.{places}f}%"
    exact = value * 100  # an int or a Fraction: exact at any size
    return _rounded(exact.numerator, exact.denominator, places) + "%"


def ratio_of(value: Any, base: Any) -> Any:
    """value / base: a float for numbers, exact for symbolic counts and past a float's range
    (10**400 parameters), None for a zero base."""
    if arith.equal(base, 0) is True:
        return None
    if arith.is_number(value) and arith.is_number(base):
        try:
            return value / base  # ints: correctly rounded, at any size of either
        except OverflowError:
            pass
    return arith.true_div(value, base)


def ratio_text(ratio: Any) -> str:
    """A ratio against a base: '-' when there is none (a zero base), 4 decimals, or one fraction."""
    if ratio is None:
        return "-"
    if isinstance(ratio, float):
        return fixed_text(ratio, 4)
    return fraction_text(ratio)


def reduction_text(ratio: Any) -> str:
    """The reduction a ratio means, 1 - ratio: '-' for none, a percentage, or symbolic text."""
    if ratio is None:
        return "-"
    if isinstance(ratio, float):
        return f"{(1 - ratio) * 100:.2f}%"
    return arith.as_text(arith.sub(1, ratio))


def ratio_json(value: Any) -> Any:
    """A ratio for JSON: a number as it is, a symbolic ratio as one fraction."""
    return fraction_text(value) if arith.is_symbolic(value) else arith.as_json(value)
