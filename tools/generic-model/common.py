"""Shared loading for the generic-model tools: CredData meta rows and the
feature dump written by `examples/generic_features.rs`."""
import csv, glob, json, os, collections


def load_meta(meta_dir):
    """relpath -> [(line_start, line_end, ground_truth, category)]"""
    rows = collections.defaultdict(list)
    for f in glob.glob(os.path.join(meta_dir, "*.csv")):
        for r in csv.DictReader(open(f)):
            rel = r["FilePath"][len("data/"):]
            rows[rel].append((int(r["LineStart"]), int(r["LineEnd"]), r["GroundTruth"], r["Category"]))
    return rows


def label(meta, path, line, end_line):
    """1 when the candidate's lines overlap a T row, else 0 (F, X and
    unlabelled lines all count against a reported line)."""
    for ls, le, gt, _ in meta.get(path, ()):
        if ls <= end_line and line <= le and gt == "T":
            return 1
    return 0


def load_features(path):
    return [json.loads(l) for l in open(path)]


def repo_of(path):
    return path.split("/")[0]
