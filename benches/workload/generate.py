#!/usr/bin/env python3
"""Writes requests.jsonl: a labelled workload of operator requests for
`steward-bench tiers`.

Each line: {"text", "tier", "expect", "kind"}.
- tier: the cheapest tier that should answer it (0 rules, 1 semantic,
  2 fast model, 3 deep planner);
- expect: the outcome kind ("reply" or "intent");
- kind: what it is (command, status, chat, memory, unknown_question, action,
  goal), for the per-kind breakdown.

The memory questions ask about the synthetic workspace the bench loads
(src/memory/eval.rs), in words of their own: the phrasings here are not the
router's examples (prompts/intents.toml). Deterministic: same output each run.
"""
import json
import random

from workspace import CLIENTS, PEOPLE, PROJECTS

rng = random.Random(20261125)
ULIDS = ["01JDXK5V7Q9R3T2W4Y6A8C0E1G", "01JDXM2B4D6F8H0J2K4M6N8P0R", "01JDXN7S9U1W3Y5A7C9E1G3J5L"]

items = []


def add(text, tier, expect, kind):
    items.append({"text": text, "tier": tier, "expect": expect, "kind": kind})


# Tier 0: the command grammar.
for _ in range(40):
    add(rng.choice(["status", "/status", "Status", "/status@steward_bot"]), 0, "reply", "command")
for _ in range(30):
    add(rng.choice(["pending", "/pending", "Pending"]), 0, "reply", "command")
for _ in range(10):
    add(rng.choice(["help", "/help", "/start"]), 0, "reply", "command")
for i in range(30):
    verb = rng.choice(["approve", "/approve", "reject", "/reject", "confirm", "undo"])
    comment = rng.choice(["", " looks fine", " not now", " ok go ahead"])
    add(f"{verb} {ULIDS[i % 3]}{comment}", 0, "reply", "command")
facts = [
    "the VAT number of the company is DE{n}",
    "the office alarm code changes to {n} next week",
    "the {p} staging server runs on port {n}",
    "{c} wants invoices in PDF only",
    "{who} is on holiday until November {d}",
    "the domain for {p} renews on December {d}",
    "our bank's support line reference is {n}",
]
for _ in range(40):
    f = rng.choice(facts).format(n=rng.randint(1000, 99999), p=rng.choice(PROJECTS), c=rng.choice(CLIENTS),
                                 who=rng.choice(PEOPLE), d=rng.randint(1, 28))
    add(rng.choice(["remember that ", "Remember that ", "/remember "]) + f, 0, "reply", "command")

# Tier 1: paraphrased commands and small talk, routed without a model.
status = ["how is everything going", "give me the current status", "is anything broken right now",
          "what's going on at the moment", "how are things", "any problems today", "status update please",
          "is the system running fine", "how is steward doing today", "show me the status of things"]
pending = ["what's waiting on my approval", "do I have anything to approve", "what needs my sign-off today",
           "show me the pending approvals", "anything waiting on me", "which requests wait for my decision",
           "list my open approvals", "are there approvals waiting"]
helps = ["what can you do for me", "which commands do you know", "how do I use this", "show me what commands exist"]
chat = ["thanks", "thank you!", "thanks, that helps", "great, thanks a lot", "hello", "hi there", "good morning",
        "hey", "cheers, thank you", "thank you very much"]
for _ in range(30):
    add(rng.choice(status), 1, "reply", "status")
for _ in range(20):
    add(rng.choice(pending), 1, "reply", "status")
for _ in range(8):
    add(rng.choice(helps), 1, "reply", "status")
for _ in range(22):
    add(rng.choice(chat), 1, "reply", "chat")

# Tier 1: questions the workspace's records answer.
memory_q = []
for i, c in enumerate(CLIENTS):
    n = 2040 + i
    memory_q += [f"when is invoice INV-{n} due?", f"how much is invoice INV-{n} for {c}?",
                 f"what does {c} need before they renew the contract?",
                 f"what did {c} ask for before renewing?", f"who did we meet from {c}?"]
for i, p in enumerate(PROJECTS):
    memory_q += [f"why was the {p} launch postponed?", f"what happened to the {p} launch?",
                 f"which backup job failed on the {p} database server?"]
for who in PEOPLE:
    memory_q += [f"how do I reach {who} when something is urgent?", f"does {who} prefer calls or emails?"]
memory_q += ["how often does the office Wi-Fi password change?", "when is the VAT return filed?",
             "when can visitors use the parking spots?", "when is the espresso machine descaled?",
             "what do new hires get on their first day?", "what do travel expenses above two hundred euros need?",
             "when does the domain registration renew?", "when are the customer database backups copied offsite?"]
rng.shuffle(memory_q)
for q in memory_q[:100]:
    add(q, 1, "reply", "memory")

# Tier 2: questions nothing in memory answers (the researcher says so).
unknown = ["what did the lawyer say about the office lease?", "when is the next board meeting?",
           "who designed our new logo?", "what is the wifi password at the coworking space?",
           "how much did we spend on ads in October?", "when does the insurance policy expire?",
           "what is the tracking number of the last parcel?", "who is our contact at the tax office?",
           "what did the auditor find last year?", "when is the fire drill scheduled?"]
for i in range(40):
    add(unknown[i % len(unknown)], 2, "reply", "unknown_question")

# Tier 2: one-step actions; the fast model extracts the arguments.
notes = ["please put down a note: the {p} printer works again", "record a note that {c} settled invoice INV-{n}",
         "make a quick note: {who} begins on Monday", "note down that the {p} demo went well",
         "add a note saying {c} wants a discount", "leave a note to call {who} about the {p} budget",
         "write down that we signed the {p} contract", "put a note in: the {c} call is now on Friday"]
hooks = ["kick off the {p} deploy webhook", "hit the rebuild hook for the {p} website",
         "call the {p} staging webhook", "trigger the nightly export hook for {c}"]
for i in range(60):
    t = rng.choice(notes).format(p=rng.choice(PROJECTS), c=rng.choice(CLIENTS), n=2040 + i % 10, who=rng.choice(PEOPLE))
    add(t, 2, "intent", "action")
for i in range(20):
    t = rng.choice(hooks).format(p=rng.choice(PROJECTS), c=rng.choice(CLIENTS))
    add(t, 2, "intent", "action")

# Tier 3: multi-step goals, straight to the planner.
goals = ["get {c} set up as a client: welcome pack, kickoff call and a heads-up to the team",
         "bill {c} for the {p} work, send the invoice and follow up if it is unpaid in a week",
         "organise the {p} kickoff: book the call, share the agenda and tell everyone",
         "go through {c}'s unpaid invoices, send reminders and keep a log",
         "run the {p} launch checklist and announce it to our partners",
         "wrap up November: pull the numbers, send them to the accountant and note what was sent",
         "hold the {p} retrospective, write up the notes and share them with {c}",
         "prepare {c}'s renewal offer and brief {who} before the meeting"]
for i in range(60):
    add(rng.choice(goals).format(p=rng.choice(PROJECTS), c=rng.choice(CLIENTS), who=rng.choice(PEOPLE)), 3, "intent", "goal")

rng.shuffle(items)

# Saved workflows (the bench loads `weekly-report`, which takes a client):
# `/run` and `/workflows` are tier-0 commands. Drawn from their own seed and
# appended, so the requests above stay as they were.
wf = random.Random(16)
for _ in range(10):
    add(f"/run weekly-report client=\"{wf.choice(CLIENTS)}\"", 0, "intent", "workflow")
for _ in range(5):
    add(f"run weekly-report client={wf.choice(CLIENTS).split()[0]}", 0, "intent", "workflow")
for _ in range(5):
    add(wf.choice(["/workflows", "workflows"]), 0, "reply", "workflow")
for _ in range(3):
    # No client: asked for, and the next message answers.
    add("/run weekly-report", 0, "reply", "workflow")
    add("Globex", 0, "intent", "workflow")
for _ in range(2):
    add(wf.choice(["/run no-such-flow", "/run payroll"]), 0, "reply", "workflow")

# Reminders from chat: tier 0, no model, each its own seed too. One in
# five is unreadable and answered with why.
rm = random.Random(17)
WHEN = ["tomorrow at 9", "in 2 hours", "in 30 minutes", "on friday at 3pm", "tomorrow morning",
        "at 5pm", "on monday", "in 3 days"]
EVERY = ["every monday at 8", "every weekday at 8:30", "every day at 9", "every month on the 1st"]
TASKS = ["call {who}", "send {c} the quote", "review the {p} plan", "chase {c}'s invoice", "prepare the standup"]
for _ in range(20):
    task = rm.choice(TASKS).format(p=rm.choice(PROJECTS), c=rm.choice(CLIENTS), who=rm.choice(PEOPLE))
    form = rm.randrange(5)
    if form == 0:
        add(f"remind me {rm.choice(WHEN)} to {task}", 0, "reply", "reminder")
    elif form == 1:
        add(f"remind me to {task} {rm.choice(WHEN)}", 0, "reply", "reminder")
    elif form == 2:
        add(f"{rm.choice(EVERY)} remind me to {task}", 0, "reply", "reminder")
    elif form == 3:
        add(f"/remind {rm.choice(WHEN)} {task}", 0, "reply", "reminder")
    else:
        add(f"remind me sometime to {task}", 0, "reply", "reminder")
for _ in range(3):
    add("/reminders", 0, "reply", "reminder")

# The same workflow asked for in words (tier 1, no model): its patterns read
# the client; a request without one is asked for it, and answered.
ph = random.Random(18)
SAID = ["send the weekly report for {c}", "weekly report for {c} please", "please send {c} their weekly report",
        "can you send the weekly report to {c}?", "{c} weekly report"]
for _ in range(12):
    add(ph.choice(SAID).format(c=ph.choice(CLIENTS)), 1, "intent", "workflow")
for _ in range(4):
    add(ph.choice(["send the weekly report", "weekly report please"]), 1, "reply", "workflow")
    add(ph.choice(CLIENTS), 0, "intent", "workflow")

with open("requests.jsonl", "w") as f:
    for it in items:
        f.write(json.dumps(it) + "\n")
print(len(items), "requests")
