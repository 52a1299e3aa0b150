"""Pure-Python string functions: base36_encode, format_float, truncate_long_string."""
from typing import Union

_BASE36_DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz'


def base36_encode(hex_str: str) -> str:
    """Converts a hex string to a base36 string."""
    # int() is the contract: it defines which spellings of hex are accepted.
    value = int(hex_str, 16)
    if value < 0:
        # The reference loops forever here (allowed difference, see README).
        raise ValueError(f'base36_encode needs a non-negative value, got {hex_str!r}')
    if value == 0:
        return '0'
    digits = []
    while value:
        value, digit = divmod(value, 36)
        digits.append(_BASE36_DIGITS[digit])
    return ''.join(reversed(digits))


# format() specs for the usual precisions, built once: f'{num:.{precision}f}' builds the
# spec string on every call.
_FIXED_SPECS = tuple(f'.{digits}f' for digits in range(10))


def format_float(num: Union[float, int], precision: int = 1) -> str:
    """Formats a number without decimals when whole, else with `precision` decimals."""
    if isinstance(num, int):
        return str(num)
    if num.is_integer():
        return format(num, '.0f')
    if type(precision) is int and 0 <= precision < len(_FIXED_SPECS):
        return format(num, _FIXED_SPECS[precision])
    return f'{num:.{precision}f}'  # odd precisions: the f-string's own errors and results


def truncate_long_string(s: str, max_length: int = 35, truncate_middle: bool = False) -> str:
    """Truncates a string to about max_length code points, marking the cut with '...'."""
    if len(s) <= max_length:
        return s
    if truncate_middle:
        if max_length <= 3:
            return '...'
        kept = max_length - 3
        tail_length = kept // 2
        head_length = kept - tail_length
        if tail_length == 0:
            return s[:head_length] + '...'
        return s[:head_length] + '...' + s[-tail_length:]

    if type(s) is str and type(max_length) is int and max_length > 0:
        prefix = _whole_words_prefix(s, max_length)
    else:  # odd types: SkyPilot's own steps, with their results and errors
        prefix = _whole_words_prefix_by_words(s, max_length)
    if len(prefix) < max_length:
        prefix += s[len(prefix):max_length]
    return prefix + '...'


def _whole_words_prefix(s: str, max_length: int) -> str:
    """The words (split at ' ') before the one holding the max_length-th letter (spaces are
    not letters), joined again; the word list's last one aside when there are fewer letters.
    Found with str.count/find (C loops) rather than a Python loop over the words: half the
    time of SkyPilot's loop for a 60-character command."""
    first_word_end = s.find(' ')
    if first_word_end < 0:
        first_word_end = len(s)
    if first_word_end > max_length:
        return s[:max_length]  # the first word alone is too long: cut inside it
    # The shortest s[:end] holding max_length letters: end = max_length + spaces in s[:end],
    # approached from below (letters never outnumber characters) until it holds.
    end = max_length
    while True:
        needed = max_length + s.count(' ', 0, end)
        if needed == end:
            stop_space = s.rfind(' ', 0, end - 1)  # before the word holding that letter
            break
        if needed > len(s):
            stop_space = s.rfind(' ')  # fewer letters: every word but the last
            break
        end = needed
    return s[:stop_space] if stop_space >= 0 else ''


def _whole_words_prefix_by_words(s, max_length):
    """As _whole_words_prefix, by SkyPilot's loop over the words."""
    words = s.split(' ')
    if len(words[0]) > max_length:
        return words[0][:max_length]
    stop = 0
    letters = 0
    for stop, word in enumerate(words):
        letters += len(word)
        if letters >= max_length:
            break
    return ' '.join(words[:stop])
