#!/usr/bin/env python3
"""Writes phone.jsonl: a ninth TEST part of the tiers workload.

Written after the session that read `desk`'s misroutes, once that
session's reader changes were final, and measured once, blind. Requests
as an operator whose first language is not English types them on a
phone: short, plain, sometimes in the word order of another language
("costs of today pls", "approve the low risk things, all of them"),
with names no other part uses. Questions are about the synthetic
workspace (src/memory/eval.rs).

Same line format as requests.jsonl: {"text", "tier", "expect", "kind"}.
Deterministic.
"""
from workspace import CLIENTS, PEOPLE, PROJECTS, Part, write_part

part = Part(90211)
rng, items, add, pick = part.rng, part.items, part.add, part.pick
# Names no other part uses, for text not about the workspace.
FIRMS = ["Lindqvist Bakery", "Marlow Print", "Nordlicht GmbH", "Oakridge Dental", "Pellucid Labs", "Quarry Row Films"]
STAFF = ["Björn", "Chiara", "Dmitri", "Esperanza", "Fumiko", "Gustavo"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def fill(template):
    return template.format(f=pick(FIRMS), s=pick(STAFF), p=pick(PROJECTS), c=pick(CLIENTS), d=pick(DAYS))


# Commands (no model: tier 0 or 1 both right).
commands = [
    "is there something I must approve?", "which requests wait for me?", "do you need a decision from me?",
    "open items for approval?", "anything in the queue for me?", "show me what needs approving",
    "all systems go?", "is the bot working?", "are you ok?", "health status pls", "is everything up and running?",
    "what is the bill for the AI today?", "how many euros did the LLM cost this week",
    "spend on language models last 30 days", "how expensive was the AI this month?", "costs of today pls",
    "send me the summary of the day", "I want my digest", "daily summary please", "can you give me the digest",
    "please stop all the automatic jobs", "switch off the cron", "put the workflows on pause",
    "halt the automations for today",
    "start the automations again", "the workflows can run again", "reactivate all schedules",
    "switch the cron back on",
    "approve the low risk things, all of them", "say yes to all low risk", "accept every low-risk item",
    "approve the newest one", "yes approve the latest request", "ok the last one, approve",
    "no, reject the last one", "decline the latest one please", "refuse that request",
    "stop the last thing I asked", "cancel my previous request", "abort what I just asked for",
    "undo the email you just sent", "revert the last webhook", "roll back your last action",
    "try the failed one once more", "run the last failed request again", "please retry the last one",
    "delete all information about {f}", "forget what you know on {f}", "erase {f} from memory",
    "remember: {f} closes on {d}s", "pls remember that {s} is on holiday next week",
    "keep in mind that {f} prefers calls", "save this: {f} pays by card",
    "what commands do you understand?", "help me, what can I do here?", "how does this work?",
]
for _ in range(100):
    add(fill(pick(commands)), 0, "reply", "command")

# Small talk.
chat = ["thank you so much", "great, thanks!", "good morning", "hi there", "perfect, thank you", "ok thanks",
        "hello steward", "top, thanks", "super, thx", "many thanks!"]
for _ in range(25):
    add(pick(chat), 1, "reply", "chat")

# Questions the workspace answers.
memory_q = []
for i, c in enumerate(CLIENTS):
    n = 2040 + i
    memory_q += [f"INV-{n}: what amount?", f"due date of INV-{n}?", f"What did {c} require before renewing?",
                 f"What does {c} want before they renew the contract?"]
for i, p in enumerate(PROJECTS):
    memory_q += [f"Why was the {p} launch postponed?", f"Until when is the {p} launch delayed?",
                 f"Which backup job fails on the {p} database server?"]
for who in PEOPLE:
    memory_q += [f"How do I best reach {who} for urgent things?", f"{who} urgent - phone or email?"]
memory_q += ["When is the wifi password changed?", "What do new employees get on day one?",
             "What is the rule for travel costs above 200 euros?", "When does the domain renew?",
             "At what time are the customer database backups copied offsite?",
             "Which day are the parking spots for visitors?", "When must the espresso machine be descaled?",
             "When is the VAT return filed?"]
rng.shuffle(memory_q)
for q in memory_q[:90]:
    add(q, 1, "reply", "memory")

# Questions nothing in memory answers (tier 2).
unknown = ["What is the wifi password?", "Who is our lawyer?", "How much did we pay for the office chairs?",
           "What's the phone number of {f}?", "When is {s}'s birthday?", "Which bank do we use?",
           "What is the VAT number of {f}?", "Where is the company party this year?",
           "How many customers do we have in total?", "Who cleans the office?"]
for _ in range(40):
    add(fill(pick(unknown)), 2, "reply", "unknown_question")

# One-step actions (tier 2, an intent).
actions = ["Write an email to {f} that the meeting moves to {d}.", "Send {s} an email with the {p} budget.",
           "Please inform {f} per email that the invoice is paid.", "Trigger the {p} build webhook.",
           "Call the {p} deploy hook now.", "Can you mail {f} our new prices?",
           "Email {s}: the {p} meeting is cancelled.", "Send a mail to {f} to confirm the order.",
           "Hit the {p} webhook for the nightly import.", "Could you write {s} an email about {d}'s call?"]
for _ in range(70):
    add(fill(pick(actions)), 2, "intent", "action")

# Multi-step goals (tier 3).
goals = ["Prepare the {p} kickoff: invite {s}, book a room, send the agenda.",
         "Onboard {f}: send the contract, create a folder and schedule an intro call.",
         "Organise the team offsite - pick a date, book a venue and email everyone.",
         "For {f}: check the open invoices, send a payment reminder and tell {s}.",
         "Plan {s}'s first week: laptop, accounts, and a welcome lunch with the team."]
for _ in range(50):
    add(fill(pick(goals)), 3, "intent", "goal")

# Reminders (tier 0).
reminders = ["remind me tomorrow at 10 to call {f}", "in 30 minutes remind me about the {p} review",
             "remind me on {d} to pay {f}", "please remind me every monday at 9 to check invoices",
             "Remind me at 3pm: send {s} the slides.", "remind me next week to renew the {p} domain"]
for _ in range(30):
    add(fill(pick(reminders)), 0, "reply", "reminder")

# The saved workflow (tier 1, an intent).
wf = ["weekly report {c} please", "make the weekly report for {c}", "{c} weekly report now",
      "can you do the weekly report for {c}?"]
for _ in range(15):
    add(fill(pick(wf)), 1, "intent", "workflow")

write_part(items, rng, "phone.jsonl",
           ["requests.jsonl", "heldout.jsonl", "fresh.jsonl", "unseen.jsonl", "letters.jsonl", "dictated.jsonl",
            "shorthand.jsonl", "desk.jsonl"])
