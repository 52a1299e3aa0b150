"""Spec tables for base36_encode, format_float and truncate_long_string (spec §1, §4, §5)."""

import math

import pytest

MD5_EMPTY = 'd41d8cd98f00b204e9800998ecf8427e'


@pytest.mark.parametrize(
    'hex_str, expected',
    [
        ('ff', '73'),
        ('FF', '73'),
        ('0xff', '73'),
        (' ff ', '73'),
        ('f_f', '73'),
        ('+ff', '73'),
        ('0x10', 'g'),
        ('100', '74'),
        ('00ff', '73'),
        ('0', '0'),
        (MD5_EMPTY, 'ck2u8j60r58fu0sgyxrigm3cu'),
        ('f' * 40, 'twj4yidkw7a8pn4g709kzmfoaol3x8f'),
    ],
)
def test_base36_encode_table(impl, hex_str, expected):
    assert impl.base36_encode(hex_str) == expected


@pytest.mark.parametrize('hex_str', ['', 'g', 'xyz', '0x', 'f__f', '_ff', 'ff_', '12 34'])
def test_base36_encode_rejects_non_hex(impl, hex_str):
    with pytest.raises(ValueError):
        impl.base36_encode(hex_str)


@pytest.mark.parametrize('value', [None, 255, 2.5, ['ff']])
def test_base36_encode_rejects_non_str(impl, value):
    with pytest.raises(TypeError):
        impl.base36_encode(value)


@pytest.mark.parametrize('hex_str', ['-1', '-ff', ' -0x10 '])
def test_base36_encode_negative_raises_instead_of_hanging(impl, hex_str):
    # Allowed difference: the reference loops forever on a negative value.
    with pytest.raises(ValueError):
        impl.base36_encode(hex_str)


def test_base36_encode_any_length(impl):
    hex_str = '1' + '0' * 300
    value = 16**300
    digits = '0123456789abcdefghijklmnopqrstuvwxyz'
    expected = ''
    while value:
        value, d = divmod(value, 36)
        expected = digits[d] + expected
    assert impl.base36_encode(hex_str) == expected


@pytest.mark.parametrize(
    'args, expected',
    [
        ((1,), '1'),
        ((True,), 'True'),
        ((2.0,), '2'),
        ((1e20,), '100000000000000000000'),
        ((-0.0,), '-0'),
        ((2.25,), '2.2'),
        ((2.35,), '2.4'),
        ((0.05,), '0.1'),
        ((1.96,), '2.0'),
        ((1234.5,), '1234.5'),
        ((0.123, 2), '0.12'),
        ((3.14159, 3), '3.142'),
        ((1.5, 0), '2'),
        ((2.5, 0), '2'),
        ((math.nan,), 'nan'),
        ((math.inf,), 'inf'),
        ((-math.inf,), '-inf'),
        ((-2, 5), '-2'),
        ((10**30,), str(10**30)),
    ],
)
def test_format_float_table(impl, args, expected):
    assert impl.format_float(*args) == expected


def test_format_float_negative_precision(impl):
    with pytest.raises(ValueError):
        impl.format_float(2.25, -1)


@pytest.mark.parametrize('value', ['1.5', None])
def test_format_float_non_number(impl, value):
    with pytest.raises(AttributeError):
        impl.format_float(value)


@pytest.mark.parametrize(
    'args, expected',
    [
        (('this is a very long string that needs truncation', 20), 'this is a very long ...'),
        (('sky launch test.yaml --env FOO=bar', 25), 'sky launch test.yaml --env...'),
        (('a b c d e f g h', 5), 'a b c d...'),
        (('hello world foo', 6), 'hello ...'),
        (('hello world foo', 12), 'hello world ...'),
        (('abcdefghijklmnopqrstuvwxyz', 10), 'abcdefghij...'),
        (('abcdef', 0), '...'),
        (('abcdef', -2), 'abcd...'),
        (('us-west-2-availability-zone-1', 20, True), 'us-west-2...y-zone-1'),
        (('abcdefghijklmnopqrstuvwxyz', 10, True), 'abcd...xyz'),
        (('abcdefghijklmnopqrstuvwxyz', 11, True), 'abcd...wxyz'),
        (('abcde', 4, True), 'a...'),
        (('ünïcödé-ßtring-long', 8, True), 'ünï...ng'),
    ],
)
def test_truncate_long_string_table(impl, args, expected):
    assert impl.truncate_long_string(*args) == expected


@pytest.mark.parametrize('middle', [False, True])
def test_truncate_long_string_short_input_unchanged(impl, middle):
    assert impl.truncate_long_string('short', 5, middle) == 'short'
    assert impl.truncate_long_string('', 0, middle) == ''


@pytest.mark.parametrize('max_length', [-5, 0, 1, 2, 3])
def test_truncate_middle_tiny_width(impl, max_length):
    assert impl.truncate_long_string('abcdefgh', max_length, True) == '...'


def test_truncate_counts_code_points_not_bytes(impl):
    s = '日本語のテキスト です'
    assert impl.truncate_long_string(s, 5) == '日本語のテ...'
    assert impl.truncate_long_string('🙂' * 10, 7, True) == '🙂🙂...🙂🙂'


def test_truncate_default_width_is_35(impl):
    s = 'x' * 36
    assert impl.truncate_long_string(s) == 'x' * 35 + '...'
    assert impl.truncate_long_string(s[:35]) == s[:35]
