#!/usr/bin/env python3
"""Writes letters.jsonl: a fourth TEST part of the tiers workload.

unseen.jsonl was written by the same session that then widened the readers,
so its figure after that is not blind either. This part was written after
those changes and is measured once, with nothing changed after: requests
as someone writes who treats steward like an assistant they email, with a
greeting, context before the request, a sign-off, British spelling, and
now and then a typo; questions about the synthetic workspace
(src/memory/eval.rs) with the reason for asking first. A later change made
after reading its misroutes makes it stale, and a new part is written.

Same line format as requests.jsonl: {"text", "tier", "expect", "kind"}.
Deterministic.
"""
from workspace import CLIENTS, PEOPLE, PROJECTS, Part, write_part

part = Part(77031)
rng, items, add, pick = part.rng, part.items, part.add, part.pick
# Names no other part uses, for text not about the workspace.
FIRMS = ["Albion Joinery", "Kestrel Audio", "Marlowe & Finch", "Tidewater Farms", "Quill Legal", "Saffron Kitchens"]
STAFF = ["Imogen", "Rupert", "Sunita", "Callum", "Beatrix", "Osei"]
HELLO = ["", "", "Hi steward, ", "Morning! ", "Hello, ", "Quick one: ", "Sorry to bother you, "]
BYE = ["", "", " Thanks.", " Cheers, M", " Many thanks!", " Ta."]


def polite(body):
    return (pick(HELLO) + body + pick(BYE)).strip()


def fill(template):
    return template.format(f=pick(FIRMS), s=pick(STAFF), p=pick(PROJECTS), c=pick(CLIENTS), n=rng.randint(10, 99))


# Commands (no model: tier 0 or 1 both right), wrapped as a message.
commands = [
    "is there anything awaiting my approval at the moment?", "have I got any approvals to deal with?",
    "could you show me the outstanding approvals?", "what's still waiting for me to sign off?",
    "how is the system getting on?", "can you give me a status update?", "is everything behaving itself?",
    "what have the language models cost me so far today?", "what's the model spend looking like this month?",
    "how much have we spent on AI this week?",
    "could you send over today's digest?", "may I have the digest, please?",
    "please suspend all of the automations until further notice.", "kindly pause every scheduled workflow.",
    "please switch the automations back on.", "you can resume the workflows now.",
    "please approve all of the low-risk requests.", "go ahead and approve every low risk item.",
    "please reject the most recent request.", "I'd like to approve the latest one.",
    "please cancel the request I just sent.", "could you cancel my last request?",
    "please undo the last email.", "could you reverse that last email?",
    "please retry the one that failed.", "have another go at the failed one.",
    "please forget everything you know about {f}.", "could you delete all your notes about {f}?",
    "please remember that {f} only accepts invoices by post.", "note that {s} is away until the {n}th.",
    "please keep in mind that {f} closes early on Fridays.",
]
for _ in range(100):
    add(polite(fill(pick(commands))), 0, "reply", "command")

# Small talk, as a message.
chat = ["Thanks ever so much!", "Brilliant, thank you.", "Lovely, cheers.", "Good morning!", "Hello there.",
        "Many thanks.", "That's perfect, thanks.", "Hiya", "Afternoon!", "Splendid."]
for _ in range(25):
    add(pick(chat), 1, "reply", "chat")

# Questions the workspace answers, with the reason for asking first.
memory_q = []
for i, c in enumerate(CLIENTS):
    n = 2040 + i
    memory_q += [f"I'm chasing payments - what's the amount on INV-{n}?",
                 f"{c} have rung about INV-{n}. When was it due again?",
                 f"Before my call with {c}: what did they say they need before renewing?",
                 f"Who was it we met from {c}?"]
for i, p in enumerate(PROJECTS):
    memory_q += [f"Someone asked me about {p}. Why was the launch postponed?",
                 f"Remind me, until when did we put back the {p} launch?",
                 f"Which nightly backup job has been failing on the {p} database server?"]
for who in PEOPLE:
    memory_q += [f"I need {who} urgently. Should I phone or email?",
                 f"What's the best way to contact {who} when something is urgent?"]
memory_q += ["How often does the office Wi-Fi password change?", "When does the accountant file the VAT return?",
             "Which day are the parking spaces reserved for visitors?",
             "After how many cups does the espresso machine need descaling?",
             "What do new hires receive on their first day?",
             "What do I need for a travel expense over two hundred euros?",
             "When does the domain registration renew?", "When are the customer database backups copied offsite?"]
rng.shuffle(memory_q)
for q in memory_q[:90]:
    add(polite(q), 1, "reply", "memory")

# Questions nothing in memory answers (tier 2).
unknown = ["What's the postcode of our accountant's office?", "Who supplies our printer paper?",
           "How many holiday days has Imogen got left?", "What was the turnover last year?",
           "Which hotel did we use for the Leeds trip?", "When was the boiler last serviced?",
           "What's the name of the cleaner who comes on Tuesdays?", "How much is the parking permit?",
           "What did we pay for the new website?", "Who is our contact at the bank?"]
for i in range(40):
    add(polite(unknown[i % len(unknown)]), 2, "reply", "unknown_question")

# One-step actions (tier 2, an intent).
actions = ["Could you email {f} to say their order has been dispatched?", "Please send {s} an email with the {p} agenda.",
           "Would you drop {f} a line confirming Thursday's meeting?", "I need {f} emailed the revised quote.",
           "Please trigger the {p} deployment webhook.", "Could you call the {p} staging webhook?",
           "Please fire the {p} release hook.", "Would you let {f} know by email that the invoice is paid?",
           "Please email {s} that the {p} review has moved to Monday.", "Can you ping the {p} build webhook?"]
for _ in range(70):
    add(polite(fill(pick(actions))), 2, "intent", "action")

# Multi-step goals (tier 3).
goals = ["Please get {f} onboarded: draft the contract, send a welcome email and book an intro call with {s}.",
         "Could you organise the {p} retrospective - find a date, book a room and email the team the agenda?",
         "I'd like the quarter closed off: collect the invoices, reconcile them against the bank and send a summary to the accountant.",
         "When {f} signs, send them the kickoff pack, set up the project board and let {s} know.",
         "Please handle {s}'s departure: final pay, collect the laptop and send a farewell note to everyone."]
for _ in range(50):
    add(polite(fill(pick(goals))), 3, "intent", "goal")

# Reminders (tier 0).
reminders = ["Please remind me on Friday at 2pm to send the {f} invoice.",
             "Could you remind me tomorrow at 9 to ring {s}?", "Remind me in an hour to check the {p} deploy.",
             "Please set a reminder for Monday at 10am to review the {p} budget.",
             "Every Friday at 4pm, remind me to do the timesheets.",
             "Remind me next Tuesday to chase {f}."]
for _ in range(30):
    add(polite(fill(pick(reminders))), 0, "reply", "reminder")

# The saved workflow, as a message (tier 1, an intent).
said = ["Please send {c} their weekly report.", "Could you do the weekly report for {c}?",
        "{c}'s weekly report, please.", "Time for the weekly report for {c}."]
for _ in range(15):
    add(polite(fill(pick(said))), 1, "intent", "workflow")

write_part(items, rng, "letters.jsonl", ["requests.jsonl", "heldout.jsonl", "fresh.jsonl", "unseen.jsonl"])
