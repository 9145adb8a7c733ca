"""`CommonPasswords` over the list zxcvbn ships (`zxcvbn.frequency_lists`, its
`passwords` list: the 30,000 passwords most used in leaked password sets, lower case),
read once, offline. Only the list is used, not zxcvbn's estimator: the rule is NIST's
"not in a list of commonly used passwords" (`domain.accounts`), not a strength score.
"""

from __future__ import annotations

from zxcvbn.frequency_lists import FREQUENCY_LISTS


class ZxcvbnCommonPasswords:
    def __init__(self) -> None:
        self.passwords = frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])

    def __len__(self) -> int:
        return len(self.passwords)

    def is_common(self, password: str) -> bool:
        return password.casefold() in self.passwords
