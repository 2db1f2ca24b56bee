"""What the workload generators share: the names of the synthetic workspace
the bench loads (src/memory/eval.rs), and writing a part without any
request another part already has, word for word."""
import json
import random

CLIENTS = ["ACME", "Globex", "Initech", "Umbrella", "Hooli", "Stark", "Wayne", "Wonka", "Tyrell", "Cyberdyne"]
PROJECTS = ["Atlas", "Borealis", "Cobalt", "Dune", "Ember", "Falcon", "Granite", "Harbor"]
PEOPLE = ["Maria", "Tom", "Priya", "Jonas", "Lena", "Omar", "Sofia", "Ken"]


def write_part(items, rng, name, others):
    """Shuffles `items` with `rng` and writes them to `name`, leaving out
    any text one of the `others` files holds."""
    seen = set()
    for other in others:
        with open(other) as f:
            seen |= {json.loads(line)["text"] for line in f}
    items = [it for it in items if it["text"] not in seen]
    rng.shuffle(items)
    with open(name, "w") as f:
        for it in items:
            f.write(json.dumps(it) + "\n")
    print(len(items), "requests")


class Part:
    """A part being written: its seeded random source and its requests."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.items = []

    def add(self, text, tier, expect, kind):
        self.items.append({"text": text, "tier": tier, "expect": expect, "kind": kind})

    def pick(self, xs):
        return self.rng.choice(xs)
