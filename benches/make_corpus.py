#!/usr/bin/env python3
"""Build a benchmark corpus of real source text with planted fake secrets.

Usage: make_corpus.py OUT_DIR [--size-mb 200] [--source DIR] [--seed 7]

Source text comes from DIR (default: the cargo registry's unpacked crate sources,
present on any machine that has built keysweep). Text files are copied, round
after round, until OUT_DIR holds about --size-mb megabytes. One file in 400 gets
a fake secret appended, in a format a bundled rule knows; OUT_DIR.planted.txt lists
them, beside it. The secrets are random strings shaped like real tokens; none is real.
"""
import argparse
import os
import random
import string
import sys

TEXT_EXT = {".rs", ".c", ".h", ".py", ".js", ".ts", ".go", ".java", ".md", ".toml",
            ".json", ".yml", ".yaml", ".txt", ".html", ".css", ".sh", ".cpp", ".hpp"}


def rand(chars, n, rng):
    return "".join(rng.choice(chars) for _ in range(n))


def fake_secret(rng):
    alnum = string.ascii_letters + string.digits
    hexd = "0123456789abcdef"
    kinds = [
        lambda: f'GITHUB_TOKEN = "ghp_{rand(alnum, 36, rng)}"',
        lambda: f'OPENAI_API_KEY="sk-proj-{rand(alnum, 74, rng)}T3BlbkFJ{rand(alnum, 74, rng)}"',
        lambda: f'let slack = "xoxb-{rng.randint(10**10, 10**11)}-{rng.randint(10**11, 10**12)}-{rand(alnum, 24, rng)}";',
        lambda: f'stripe.api_key = "sk_live_{rand(alnum, 99, rng)}"',
        lambda: f'"npm_token": "npm_{rand(alnum, 36, rng)}"',
        lambda: f'ANTHROPIC_API_KEY=sk-ant-api03-{rand(alnum + "-_", 93, rng)}AA',
        lambda: f'gitlab_token: glpat-{rand(alnum + "-_", 20, rng)}',
        lambda: f'aws_access_key_id = AKIA{rand("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, rng)}',
        lambda: f'SENDGRID_API_KEY=SG.{rand(alnum + "-_", 22, rng)}.{rand(alnum + "-_", 43, rng)}',
        lambda: f'DATABASE_URL=postgres://app:{rand(alnum, 20, rng)}@db.internal:5432/app',
        lambda: f'hf_token = "hf_{rand(string.ascii_letters, 34, rng)}"',
        lambda: f'"dop": "dop_v1_{rand(hexd, 64, rng)}"',
    ]
    return rng.choice(kinds)()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--size-mb", type=int, default=200)
    ap.add_argument("--source", default=os.path.expanduser("~/.cargo/registry/src"))
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)

    sources = []
    for root, dirs, files in os.walk(args.source):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(root, f)
            if os.path.splitext(f)[1] in TEXT_EXT:
                try:
                    size = os.path.getsize(p)
                except OSError:
                    continue
                if 0 < size <= 4 << 20:
                    sources.append((p, size))
    if not sources:
        sys.exit(f"no source text found under {args.source}")

    target = args.size_mb << 20
    written = 0
    planted = []
    n = 0
    round_no = 0
    os.makedirs(args.out, exist_ok=True)
    while written < target:
        for p, size in sources:
            if written >= target:
                break
            with open(p, "rb") as fh:
                data = fh.read()
            if b"\0" in data[:8192]:
                continue
            rel = os.path.relpath(p, args.source)
            dest = os.path.join(args.out, f"r{round_no}", rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            n += 1
            if n % 400 == 0:
                secret = fake_secret(rng)
                data = data + b"\n" + secret.encode() + b"\n"
                planted.append(f"{os.path.relpath(dest, args.out)}\t{secret}")
            with open(dest, "wb") as fh:
                fh.write(data)
            written += len(data)
        round_no += 1
    with open(args.out.rstrip("/") + ".planted.txt", "w") as fh:
        fh.write("\n".join(planted) + "\n")
    print(f"{n} files, {written / 1e6:.1f} MB, {len(planted)} planted secrets in {args.out}")


if __name__ == "__main__":
    main()
