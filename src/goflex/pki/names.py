"""Identity names and kinds: what may become a certificate's Common Name (pure).

The certificate's Common Name is the endpoint name, the MQTT username and the MQTT client id at once
(cloudio.md "Security"), and Mosquitto substitutes it into ACL ``pattern`` lines (``@update/%u/#``). A name
that contains an MQTT wildcard or a level separator would therefore widen the holder's rights, so the CA
refuses it before making a key (reliability.md S7).
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from goflex.pki.errors import InvalidIdentity

MAX_NAME_LENGTH = 64
"""Longest accepted identity name [characters]; the X.509 upper bound for a Common Name (RFC 5280 ub-common-name)."""

# cloudio.md: names must not contain `/ . # + *`. `/` and the wildcards would change the meaning of the topics the
# name is substituted into; `.` keeps names from being paths or DNS names in disguise.
FORBIDDEN_CHARACTERS = frozenset("/.#+*")

# Unicode categories refused: control, format (zero-width, bidi overrides), separators (spaces, line breaks),
# surrogates, private use and unassigned code points. Such characters make two names look the same in a log.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"})

# File names the CA itself uses in its directory (NAME.crt / NAME.key would overwrite them).
RESERVED_NAMES = frozenset({"ca"})


class CertificateKind(StrEnum):
    """What a certificate's holder is; written as the subject's OU so that a broker can read it."""

    ENDPOINT = "endpoint"
    SERVICE = "service"
    APPLICATION = "application"
    SERVER = "server"

    @property
    def is_client(self) -> bool:
        """True for kinds that authenticate as MQTT clients (extendedKeyUsage clientAuth)."""
        return self is not CertificateKind.SERVER


def validate_identity(name: str) -> str:
    """Return ``name`` unchanged if it may be an identity.

    Args:
        name: Proposed Common Name (endpoint, service, application or server name).

    Returns:
        The same name.

    Raises:
        InvalidIdentity: empty, longer than :data:`MAX_NAME_LENGTH` characters, containing ``/ . # + *``, white
            space or control characters, or reserved by the CA.
    """
    if not name:
        raise InvalidIdentity(name, "the name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidIdentity(name, f"the name has {len(name)} characters, at most {MAX_NAME_LENGTH} are allowed")
    bad = sorted(FORBIDDEN_CHARACTERS.intersection(name))
    if bad:
        raise InvalidIdentity(name, f"the name contains {' '.join(bad)} (forbidden: / . # + *)")
    for char in name:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise InvalidIdentity(name, f"the name contains white space or a control character (U+{ord(char):04X})")
    if name.lower() in RESERVED_NAMES:
        raise InvalidIdentity(name, "the name is reserved for the certificate authority's own files")
    return name
