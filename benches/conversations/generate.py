#!/usr/bin/env python3
"""Writes suite.json: the retrieval suite `steward-bench retrieval` runs.

Multi-session conversations between two named people, each turn said in the
first person the way people chat (small talk, reactions, news), with facts
about each speaker spread over sessions weeks apart; and questions about
them, each with the turns that hold its answer (its gold evidence):

- single: one fact ("What is Priya's dog called?");
- multi: several facts from several sessions ("Which cities has Omar been to?");
- temporal: when something happened, answered by the turn's date;
- inference: what the facts suggest ("Would Lena enjoy a beach holiday?").

Questions are worded in the third person with words of their own: many
share no content word with their evidence but the speaker's name. Speakers,
topics, and phrasings are drawn from pools, so no single wording dominates.
Deterministic: the same file each run.
"""
import json
import random
import sys
from datetime import date, timedelta

# `generate.py [SEED OUT]` writes another suite of the same shape, to check
# that what was chosen on the shipped one holds on conversations it never saw.
SEED = int(sys.argv[1]) if len(sys.argv) > 2 else 20261207
OUT = sys.argv[2] if len(sys.argv) > 2 else __file__.rsplit("/", 1)[0] + "/suite.json"
rng = random.Random(SEED)

NAMES = [
    "Anna", "Bob", "Priya", "Omar", "Lena", "Jonas", "Mei", "Carlos", "Sofia", "Ken", "Amara", "Tomasz", "Ines",
    "Ravi", "Chloe", "Mateo", "Yuki", "Fatima", "Liam", "Zoe", "Noah", "Aisha", "Felix", "Hana", "Diego", "Elif",
    "Marcus", "Nadia", "Oscar", "Leila", "Viktor", "Grace", "Emil", "Rosa", "Kofi", "Ingrid", "Sam", "Tara", "Hugo",
    "Mira", "Dev", "Clara", "Luca", "Nora",
]
CITIES = ["Lisbon", "Porto", "Kyoto", "Oslo", "Montreal", "Nairobi", "Seville", "Krakow", "Hanoi", "Reykjavik",
          "Cape Town", "Valparaiso", "Tbilisi", "Edinburgh", "Marrakesh", "Vancouver", "Bologna", "Ljubljana"]
PETS = [("dog", "beagle", "puppy"), ("dog", "labrador", "pup"), ("cat", "tabby", "kitten"), ("cat", "siamese", "kitty"),
        ("rabbit", "lop-eared rabbit", "bunny"), ("parrot", "green parrot", "bird"), ("tortoise", "tortoise", "reptile")]
PET_NAMES = ["Pixel", "Mango", "Biscuit", "Juno", "Pepper", "Olive", "Ziggy", "Nori", "Waffles", "Luna", "Toast", "Kiwi"]
JOBS = [("nurse", "the children's hospital", "healthcare"), ("architect", "a small studio", "design buildings"),
        ("data analyst", "an insurance firm", "crunch numbers"), ("chef", "a tapas bar", "cook for a living"),
        ("teacher", "a primary school", "teach kids"), ("pilot", "a regional airline", "fly planes"),
        ("carpenter", "my own workshop", "build furniture"), ("journalist", "the local paper", "write news"),
        ("software engineer", "a fintech startup", "write code"), ("vet", "an animal clinic", "treat animals")]
INSTRUMENTS = ["cello", "ukulele", "drums", "piano", "saxophone", "violin", "bass guitar"]
SPORTS = [("half marathon", "running"), ("triathlon", "endurance racing"), ("climbing competition", "bouldering"),
          ("chess tournament", "chess"), ("cycling race", "road cycling"), ("swim meet", "open-water swimming")]
FOODS = ["ramen", "paella", "dumplings", "lasagna", "tacos", "pho", "falafel", "risotto", "curry"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]

# Traits with two first-person hints each, the inference question they
# support, and its opposite (asked of someone with the opposite trait).
TRAITS = [
    ("outdoors", ["Nothing beats a long hike up into the mountains on a Saturday.",
                  "I slept in a tent three nights in a row last month and loved every minute."],
     "Would {n} enjoy a weekend of trekking and camping?"),
    ("introvert", ["Honestly, big parties drain me, I'd rather stay home with a book.",
                   "I turned down the office karaoke night again, crowds are just not my thing."],
     "Is {n} likely to want a huge birthday party?"),
    ("sea", ["I go swimming in the ocean every morning before work.",
             "Give me sand, waves and sunscreen and I'm happy for a week."],
     "Would {n} like a beach holiday?"),
    ("vegetarian", ["I stopped eating meat about two years ago and feel great.",
                    "The lentil stew I made yesterday was the best thing I've cooked, no meat needed."],
     "Would {n} order the steak at a restaurant?"),
    ("night", ["I do my best work after midnight, mornings are a write-off for me.",
               "My alarm is set for eleven, I'm useless before lunch."],
     "Would {n} be happy with a 6am meeting?"),
    ("frugal", ["I track every cent in a spreadsheet and cook at home to save.",
                "Why buy new when the second-hand shop has the same jacket for a tenth?"],
     "Is {n} likely to splurge on a luxury watch?"),
    ("gardener", ["My tomatoes finally turned red, the balcony is a jungle now.",
                  "I spent the whole weekend repotting herbs and pulling weeds."],
     "Would {n} appreciate a gift of seeds and a trowel?"),
    ("allergic", ["My eyes swell up whenever I'm near cats, it's awful.",
                  "I had to leave my aunt's place early, her cat set off my allergies again."],
     "Should {n} be the one to cat-sit for a week?"),
]

FILLER = [
    "Hey {o}! How have you been?", "Long time no talk, how's everything?", "Haha, that's so true.",
    "Oh wow, really?", "That sounds amazing!", "I know, right?", "Ugh, this week has been endless.",
    "The weather has been so grey lately.", "Did you watch the match on Sunday?", "I'm so tired today.",
    "Work is keeping me busy as always.", "We should grab coffee sometime.", "Totally agree with you.",
    "That's a good point, I hadn't thought of that.", "Same here, honestly.", "Sorry for the late reply!",
    "How was your weekend?", "Mine was quiet, mostly chores.", "I finally cleaned out my inbox.",
    "My cousin said the same thing last week.", "Anyway, enough about me, what's new with you?",
    "I've been reading a lot more lately.", "The traffic this morning was unbelievable.",
    "Fingers crossed it works out!", "Let me know how it goes.", "Good luck with that!",
    "I'm thinking of changing my phone plan.", "Do you have any plans for the holidays?",
    "That reminds me, I need to call my mum.", "We'll see, nothing is decided yet.",
    "It's been a rollercoaster of a month.", "I can't believe it's already {month}.",
    "Talk soon, I have to run!", "Catch you later!", "Nice, I'm happy for you.",
    "Oh no, that sounds stressful.", "You deserve a break, seriously.", "Ha, classic.",
]

FACT_TURNS = {
    "pet": ["We finally adopted a {breed}! Her name is {pet}.", "Meet {pet}, our new {breed}, she arrived on Saturday.",
            "I brought home a little {breed} called {pet} this week."],
    "job": ["I just started as a {job} at {employer}.", "Big news: I'm now working as a {job} at {employer}!",
            "After months of interviews I got the {job} position at {employer}."],
    "trip": ["Just got back from {city}, the food there was incredible.",
             "I spent ten days in {city}, I'm still jet-lagged.", "We flew to {city} for a long weekend, so much walking!"],
    "instrument": ["I signed up for {instrument} lessons, my neighbours hate me already.",
                   "I've been practising the {instrument} every evening.",
                   "Bought a second-hand {instrument} and I'm teaching myself."],
    "race": ["I finished my first {race} on Sunday, my legs are jelly.", "Crossed the line at the {race} today!",
             "Did the {race} this weekend, came in the top half."],
    "food": ["If I could eat one thing forever it would be {food}.", "I made {food} from scratch last night, so proud.",
             "There's a new {food} place near me and I've been there four times."],
    "move": ["We're moving to {city} next month, boxes everywhere.", "Signed the lease on a flat in {city}!",
             "The move to {city} is done, finally unpacked."],
}

# Some wordings share nothing with the evidence but the speaker's name;
# others keep a word the asker remembers ("adopted", "lessons"), as people
# asking about their own history often do.
QUESTIONS = {
    "pet": ["What is the name of {n}'s {kind}?", "What did {n} call the {word} she adopted?",
            "What's {n}'s pet named?", "What did {n} name the {breed}?", "Which {breed} did {n} adopt?"],
    "job": ["Where does {n} work now?", "What is {n}'s new job?", "What does {n} do for a living these days?",
            "Which position did {n} get after the interviews?", "Where did {n} start working as a {job}?"],
    "instrument": ["Which instrument is {n} learning?", "What does {n} play in the evenings?",
                   "What lessons did {n} sign up for?", "What has {n} been practising?"],
    "race": ["What event did {n} complete?", "Which competition did {n} take part in?",
             "What did {n} finish on Sunday?", "Which race did {n} cross the line at?"],
    "food": ["What is {n}'s favourite dish?", "Which food does {n} love most?",
             "What would {n} eat forever?", "What did {n} make from scratch?"],
    "move": ["Which city is {n} moving to?", "Where is {n}'s new home?",
             "Where did {n} sign the lease on a flat?", "Where is {n} unpacking boxes?"],
    "trip": ["Which place did {n} visit?", "Where did {n} travel recently?"],
}
WHEN = {
    "pet": ["When did {n} adopt {pet}?", "When did {pet} join {n}'s household?"],
    "job": ["When did {n} start working at {employer}?", "When did {n} begin the new role?"],
    "trip": ["When was {n} in {city}?", "When did {n} go to {city}?"],
    "race": ["When did {n} do the {race}?", "When did {n} compete in the {race}?"],
    "move": ["When did {n} announce moving to {city}?", "When did {n} say they were relocating to {city}?"],
    "instrument": ["When did {n} start playing the {instrument}?", "Since when has {n} been learning {instrument}?"],
}
MULTI = ["Which cities has {n} travelled to?", "What places has {n} visited over the past months?",
         "List the trips {n} has mentioned."]


def persona(name):
    pet = rng.choice(PETS)
    job = rng.choice(JOBS)
    trait = rng.choice(TRAITS)
    return {
        "name": name, "pet": pet, "pet_name": rng.choice(PET_NAMES), "job": job, "trait": trait,
        "instrument": rng.choice(INSTRUMENTS), "race": rng.choice(SPORTS), "food": rng.choice(FOODS),
        "trips": rng.sample(CITIES, 3), "move": rng.choice(CITIES),
    }


def fact_text(p, kind, city=None):
    t = rng.choice(FACT_TURNS[kind])
    return t.format(breed=p["pet"][1], pet=p["pet_name"], job=p["job"][0], employer=p["job"][1],
                    city=city or p["move"], instrument=p["instrument"], race=p["race"][0], food=p["food"])


def conversation(cid, a, b, start):
    people = {a["name"]: a, b["name"]: b}
    # The facts each speaker will share, spread over five sessions.
    plan = []
    for p in (a, b):
        facts = [("pet", None), ("job", None), ("instrument", None), ("race", None), ("food", None), ("move", None)]
        facts += [("trip", c) for c in p["trips"]]
        facts += [("trait", h) for h in p["trait"][1]]
        rng.shuffle(facts)
        plan += [(p["name"], k, x) for k, x in facts]
    rng.shuffle(plan)
    sessions, turns, evidence = [], [], {}
    day = start
    per_session = (len(plan) + 4) // 5
    for s in range(5):
        day = day + timedelta(days=rng.randint(9, 40))
        mine = plan[s * per_session:(s + 1) * per_session]
        n_turns = rng.randint(18, 24)
        slots = sorted(rng.sample(range(2, n_turns), min(len(mine), n_turns - 2)))
        session = {"date": day.isoformat(), "turns": []}
        speaker = rng.choice([a["name"], b["name"]])
        facts_here = dict(zip(slots, mine))
        for t in range(n_turns):
            fact = facts_here.get(t)
            if fact:
                speaker = fact[0]
            other = b["name"] if speaker == a["name"] else a["name"]
            tid = f"c{cid}s{s}t{t}"
            if fact:
                who, kind, extra = fact
                p = people[who]
                text = extra if kind == "trait" else fact_text(p, kind, extra)
                evidence.setdefault((who, kind), []).append((tid, extra, day))
            else:
                text = rng.choice(FILLER).format(o=other, month=MONTHS[day.month - 1])
                # Now and then a filler names a city, a pet or a dish of no one's: words that mislead.
                if rng.random() < 0.12:
                    text += rng.choice([f" My sister keeps sending me photos of {rng.choice(CITIES)}.",
                                        f" A friend of mine just got a {rng.choice(PETS)[1]}.",
                                        f" I had {rng.choice(FOODS)} for lunch, it was fine."])
            session["turns"].append({"id": tid, "speaker": speaker, "text": text, "minute": t})
            turns.append(tid)
            speaker = other
        sessions.append(session)
    questions = []
    for who, p in people.items():
        for kind in ["pet", "job", "instrument", "race", "food", "move"]:
            ev = evidence.get((who, kind))
            if not ev:
                continue
            q = rng.choice(QUESTIONS[kind]).format(n=who, kind=p["pet"][0], word=p["pet"][2], breed=p["pet"][1],
                                                   job=p["job"][0])
            questions.append({"kind": "single", "question": q, "evidence": [ev[0][0]]})
            if kind in WHEN and rng.random() < 0.6:
                q = rng.choice(WHEN[kind]).format(n=who, pet=p["pet_name"], employer=p["job"][1], city=p["move"],
                                                  race=p["race"][0], instrument=p["instrument"])
                questions.append({"kind": "temporal", "question": q, "evidence": [ev[0][0]], "date": ev[0][2].isoformat()})
        trips = evidence.get((who, "trip"), [])
        if len(trips) >= 2:
            q = rng.choice(MULTI).format(n=who)
            questions.append({"kind": "multi", "question": q, "evidence": [t[0] for t in trips]})
            tid, city, day = rng.choice(trips)
            q = rng.choice(WHEN["trip"]).format(n=who, city=city)
            questions.append({"kind": "temporal", "question": q, "evidence": [tid], "date": day.isoformat()})
        pet_ev, job_ev = evidence.get((who, "pet")), evidence.get((who, "job"))
        if pet_ev and job_ev:
            q = f"What does {who} do for work, and what kind of animal do they have at home?"
            questions.append({"kind": "multi", "question": q, "evidence": [pet_ev[0][0], job_ev[0][0]]})
        hints = evidence.get((who, "trait"), [])
        if hints:
            q = p["trait"][2].format(n=who)
            questions.append({"kind": "inference", "question": q, "evidence": [h[0] for h in hints]})
        inst, race = evidence.get((who, "instrument")), evidence.get((who, "race"))
        if inst and race:
            q = f"What hobbies does {who} spend free time on?"
            questions.append({"kind": "inference", "question": q, "evidence": [inst[0][0], race[0][0]]})
    return {"id": f"c{cid}", "speakers": [a["name"], b["name"]], "sessions": sessions}, questions


def main():
    names = NAMES[:]
    rng.shuffle(names)
    conversations, questions = [], []
    for cid in range(22):
        a, b = persona(names[(2 * cid) % len(names)]), persona(names[(2 * cid + 1) % len(names)])
        start = date(2023, 1, 1) + timedelta(days=rng.randint(0, 300))
        conv, qs = conversation(cid, a, b, start)
        conversations.append(conv)
        for q in qs:
            q["conversation"] = conv["id"]
        questions += qs
    out = {"conversations": conversations, "questions": questions}
    with open(OUT, "w") as f:
        json.dump(out, f, indent=0, ensure_ascii=False)
        f.write("\n")
    turns = sum(len(s["turns"]) for c in conversations for s in c["sessions"])
    kinds = {}
    for q in questions:
        kinds[q["kind"]] = kinds.get(q["kind"], 0) + 1
    print(f"{len(conversations)} conversations, {turns} turns, {len(questions)} questions {kinds}")


if __name__ == "__main__":
    main()
