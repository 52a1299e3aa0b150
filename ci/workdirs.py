"""The three workdirs of the upload benchmark (issue 28), made the same way on every run:

- repo: a 5,000-file git repository of source-like text (~54 MB), with a .gitignore that
  leaves out a build directory, as `git ls-files` sees it;
- tiny: 100,000 small files (a few hundred bytes each) in 1,000 directories;
- big: 20 files of ~50 MiB, half of them random bytes, half text (~1 GiB).

Usage: python ci/workdirs.py DEST [repo tiny big ...]; each is made at DEST/<name> unless a
DEST/.<name>.complete marker says it is there already.
"""

import os
import random
import subprocess
import sys

_WORDS = (
    'def return import class self for in if else elif while try except with as yield lambda '
    'None True False data model loss train step batch epoch config path value result index '
    'logger info debug print len range list dict str int float tensor shape device cuda '
    'optimizer scheduler gradient checkpoint dataset loader sample random seed args kwargs '
    '= == + - * / ( ) [ ] { } : , . # 0 1 2 3 10 100 0.001 "text" \'name\''
).split()


def _corpus(seed: int, size: int) -> bytes:
    """Source-like text: lines of words, indented as code is."""
    rng = random.Random(seed)
    lines = []
    total = 0
    while total < size:
        indent = '    ' * rng.randrange(4)
        line = indent + ' '.join(rng.choice(_WORDS) for _ in range(rng.randrange(2, 14))) + '\n'
        lines.append(line)
        total += len(line)
    return ''.join(lines).encode()[:size]


def _text(rng: random.Random, corpus: bytes, size: int) -> bytes:
    """`size` bytes of text cut from the corpus at random places (16 KiB at most each)."""
    parts = []
    total = 0
    while total < size:
        take = min(size - total, rng.randrange(1024, 16384))
        at = rng.randrange(0, len(corpus) - take)
        parts.append(corpus[at : at + take])
        total += take
    return b''.join(parts)


def make_repo(dest: str) -> None:
    rng = random.Random(28)
    corpus = _corpus(1, 4 << 20)
    for i in range(5000):
        sub = os.path.join(dest, f'pkg{i % 50:02d}', f'mod{i % 7}')
        os.makedirs(sub, exist_ok=True)
        size = int(rng.lognormvariate(8.6, 1.0))  # median ~5 KB, mean ~9 KB
        with open(os.path.join(sub, f'file{i:04d}.py'), 'wb') as f:
            f.write(_text(rng, corpus, min(size, 400_000)))
    os.makedirs(os.path.join(dest, 'build'), exist_ok=True)
    for i in range(50):
        with open(os.path.join(dest, 'build', f'artifact{i}.o'), 'wb') as f:
            f.write(rng.randbytes(20_000))
    with open(os.path.join(dest, '.gitignore'), 'w') as f:
        f.write('build/\n*.log\n')
    with open(os.path.join(dest, 'run.log'), 'w') as f:
        f.write('ignored\n')
    subprocess.run(['git', 'init', '-q', dest], check=True)


def make_tiny(dest: str) -> None:
    rng = random.Random(29)
    corpus = _corpus(2, 1 << 20)
    for i in range(100_000):
        sub = os.path.join(dest, f'd{i % 1000:03d}')
        if i < 1000:
            os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, f'f{i:06d}.txt'), 'wb') as f:
            f.write(_text(rng, corpus, rng.randrange(100, 900)))


def make_big(dest: str) -> None:
    rng = random.Random(30)
    corpus = _corpus(3, 8 << 20)
    os.makedirs(dest, exist_ok=True)
    for i in range(20):
        size = 50 << 20 | rng.randrange(1 << 20)
        with open(os.path.join(dest, f'blob{i:02d}.{"bin" if i % 2 else "txt"}'), 'wb') as f:
            for _ in range(0, size, 1 << 20):
                f.write(rng.randbytes(1 << 20) if i % 2 else _text(rng, corpus, 1 << 20))


MAKERS = {'repo': make_repo, 'tiny': make_tiny, 'big': make_big}


def ensure(root: str, name: str) -> str:
    dest = os.path.join(root, name)
    marker = os.path.join(root, f'.{name}.complete')
    if not os.path.exists(marker):
        if os.path.exists(dest):
            subprocess.run(['rm', '-rf', dest], check=True)
        os.makedirs(dest)
        MAKERS[name](dest)
        with open(marker, 'w'):
            pass
    return dest


def main() -> None:
    root = sys.argv[1]
    for name in sys.argv[2:] or list(MAKERS):
        print(ensure(root, name))


if __name__ == '__main__':
    main()
