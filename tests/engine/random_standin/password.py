"""RandomPassword's contract, as pulumi-random 4.21.4 (terraform-provider-random's random_password) defines it.

Inputs: `length` (required), `upper`/`lower`/`numeric`/`special` (character classes, default on; `number` is
the deprecated twin of `numeric`), `minUpper`/`minLower`/`minNumeric`/`minSpecial` (default 0),
`overrideSpecial` (replaces the special characters) and `keepers` (arbitrary map). Every input forces a
replacement when it changes. Outputs: the inputs with their defaults, `result` and `bcryptHash` (both
secret: the SDK lists them in additional_secret_outputs), and the id "none".
"""
import crypt
import secrets
import string

DEFAULT_SPECIAL = "!@#$%&*()-_=+[]{}<>:?"
CLASS_FLAGS = {"upper": "minUpper", "lower": "minLower", "numeric": "minNumeric", "special": "minSpecial"}
DEFAULTS = {"upper": True, "lower": True, "numeric": True, "number": True, "special": True,
            "minUpper": 0, "minLower": 0, "minNumeric": 0, "minSpecial": 0}
INPUTS = ("length", *DEFAULTS, "overrideSpecial", "keepers")
RESOURCE_ID = "none"
BCRYPT_ROUNDS = 2 ** 10  # cost 10, bcrypt.DefaultCost as the real provider uses


def with_defaults(news: dict) -> tuple[dict, list[tuple[str, str]]]:
    """The checked inputs and the (property, reason) failures, as the provider's Check returns them."""
    inputs = {**DEFAULTS, **{key: value for key, value in news.items() if key in INPUTS}}
    # `number` is deprecated for `numeric`: setting either to false turns the class off, both then agree.
    inputs["numeric"] = inputs["number"] = bool(inputs["numeric"]) and bool(inputs["number"])
    failures = []
    length = inputs.get("length")
    if not isinstance(length, (int, float)) or length < 1 or int(length) != length:
        return inputs, [("length", f"length must be a whole number of at least 1, got {length!r}")]
    inputs["length"] = int(length)
    for key in CLASS_FLAGS.values():
        inputs[key] = int(inputs[key])
    minimum = sum(inputs[key] for key in CLASS_FLAGS.values())
    if minimum > inputs["length"]:
        failures.append(("length", f"length ({inputs['length']}) must be at least the sum of the minimums ({minimum})"))
    if not any(inputs[flag] for flag in CLASS_FLAGS):
        failures.append(("length", "at least one of upper, lower, numeric and special must be true"))
    return inputs, failures


def character_classes(inputs: dict) -> dict[str, str]:
    special = inputs.get("overrideSpecial") or DEFAULT_SPECIAL
    alphabet = {"upper": string.ascii_uppercase, "lower": string.ascii_lowercase, "numeric": string.digits,
                "special": special}
    return {flag: alphabet[flag] for flag in CLASS_FLAGS if inputs[flag]}


def generate(inputs: dict) -> str:
    """Each enabled class's minimum first, the rest from every enabled class, shuffled: all from the OS CSPRNG."""
    classes = character_classes(inputs)
    chosen = [secrets.choice(chars) for flag, chars in classes.items() for _ in range(inputs[CLASS_FLAGS[flag]])]
    everything = "".join(classes.values())
    chosen += [secrets.choice(everything) for _ in range(inputs["length"] - len(chosen))]
    secrets.SystemRandom().shuffle(chosen)
    return "".join(chosen)


def bcrypt_hash(password: str) -> str:
    # glibc's libxcrypt implements bcrypt ($2b$); the stand-in needs no extra package for it.
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=BCRYPT_ROUNDS))


def outputs(inputs: dict) -> dict:
    password = generate(inputs)
    return {**inputs, "result": password, "bcryptHash": bcrypt_hash(password)}


def replacing_keys(olds: dict, news: dict) -> list[str]:
    """The inputs that changed; every one forces a new password."""
    return sorted(key for key in INPUTS if olds.get(key) != news.get(key))
