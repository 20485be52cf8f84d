import pytest

from bots.faq.handoff import clean, not_helped, wants_human

ASKS_FOR_A_PERSON = [
    "agent",
    "Agent!",
    "AGENT!!!",
    "human",
    "Human?",
    "human please",
    "operator!",
    "operator",
    "representative",
    "real person",
    "live agent",
    "customer service rep",
    "customer service",
    "a real human please",
    "talk to someone",
    "speak to a person",
    "I want to talk to a human",
    "i want to talk to a human.",
    "can I speak to an agent please",
    "Can I speak to an agent, please?",
    "that did not help, I want to talk to a human",
    "I need to speak to an agent please",
    "let me talk to someone",
    "I'd like to speak to a manager",
    "I would like to speak with a representative",
    "why can't I talk to a human??",
    "is there a human I can talk to",
    "is there anyone who can help",
    "connect me with an agent",
    "connect me to someone",
    "transfer me to a representative",
    "transfer me to a person",
    "put me through to someone",
    "put me through to an agent",
    "can you pass me to a human",
    "escalate to a supervisor",
    "give me a human",
    "get me a real person",
    "Can I get a real person?",
    "can I have an operator",
    "I want an agent now",
    "I need a human",
    "I need human help",
    "help from a real person please",
    "speak to customer service",
    "talk to a human being",
    "chat with a live agent",
    "I want to speak to someone about my card",
    "no, I want a human",
    "I don't want a bot, I want a human",
    "\u00a0Talk\u2003to\u00a0SOMEONE\u00a0",
    "t a l k to someone? ... speak to a person!",
    "H\u200bi, agent please",
    "talk to support",
    "contact support",
    "I want to speak to a real human being",
    "is anyone there?",
    "put me on with an operator",
    "Can you get someone to call me?",
    "please have someone call me",
    "agent agent agent",
    "I want to complain to a manager",
    "speak to the person in charge",
    "I'd rather talk to a person",
    "i would prefer a human",
    "I want a real person not a bot",
]

DOES_NOT_ASK = [
    "",
    "   ",
    "?!",
    "my travel agent booked this",
    "is this a human-readable format?",
    "I need my travel agent's number",
    "the agent was rude",
    "I spoke to an agent yesterday and it didn't help",
    "I don't want to talk to an agent",
    "please don't transfer me to a human",
    "I want a person to person transfer",
    "is there a person to person transfer option",
    "we need human verification",
    "human error on my statement",
    "are you a human?",
    "How do I reset my password?",
    "How do I transfer to someone?",
    "I want to transfer money to someone else",
    "put someone on my account",
    "i want to become an agent",
    "someone used my card",
    "can a person under 18 open an account",
    "I have an agent",
    "Do I need to speak to a representative to change my pin?",
    "should i contact customer support if i can't edit details",
    "what is the agent fee",
    "can my estate agent see my statements",
    "humanity",
    "agents of shield",
    "operator precedence in python",
    "Someone called me claiming to be the bank",
    "I got a call from someone",
    "did someone call me",
    "call me",
    "speak english",
    "this bot is useless",
]


@pytest.mark.parametrize("text", ASKS_FOR_A_PERSON)
def test_requests_for_a_person_fire(text: str) -> None:
    assert wants_human(text)


@pytest.mark.parametrize("text", DOES_NOT_ASK)
def test_other_messages_do_not_fire(text: str) -> None:
    assert not wants_human(text)


@pytest.mark.parametrize(
    "text",
    [
        "x" * 100_000,
        "agent " * 20_000,
        "please " * 20_000 + "agent",
        "\U0001f600" * 30_000,
        "".join(chr(i) for i in range(32)) * 1000,
        "?!.,;" * 20_000,
        "\ud800 talk to \udfff",
        "a" + "\u0301" * 50_000,
        "\ufdfa" * 10_000,
        "talk to " * 10_000,
    ],
)
def test_hostile_input_does_not_raise(text: str) -> None:
    assert wants_human(text) in (True, False)


def test_clean_drops_apostrophes_and_punctuation() -> None:
    assert clean("Can\u2019t I talk to a HUMAN?!") == "cant i talk to a human"
    assert clean("\u00a0\t\n") == ""


@pytest.mark.parametrize(
    "text",
    [
        "My order 4411 never arrived, I need a person please",
        "my card has not arrived, agent please",
        "it never came, can I talk to someone",
        "I need a person",
        "the app keeps crashing. human now please",
    ],
)
def test_a_request_after_an_unrelated_negation_still_fires(text: str) -> None:
    # the negation is about the parcel, not the request: the request wins over any FAQ match
    assert wants_human(text)


@pytest.mark.parametrize(
    "text",
    [
        "I dont want a person",
        "I do not need a human",
        "I need a persons details",
        "we need human verification",
    ],
)
def test_negated_or_unrelated_person_words_do_not_fire(text: str) -> None:
    assert not wants_human(text)


# ---- not_helped: the customer's verdict on the bot's reply ----------------------------------------------

SAYS_IT_DID_NOT_HELP = [
    "that didn't help",
    "That did not help.",
    "that didnt help",
    "That didn\u2019t help!",
    "it doesn't help at all",
    "this does not help me",
    "not helpful",
    "Not very helpful, sorry",
    "that wasn't helpful",
    "this isn't helping",
    "no help at all",
    "useless",
    "this is useless",
    "no that's not what I asked",
    "No, that's not what I meant",
    "not what im looking for",
    "not the answer I was looking for",
    "i didnt ask that",
    "that has nothing to do with my question",
    "wrong answer",
    "that's wrong",
    "that is not right",
    "that's not it",
    "that doesn't answer my question",
    "you didn't answer my question",
    "you misunderstood",
    "still doesn't work",
    "It still doesn't work",
    "still not working",
    "I still can't log in",
    "I'm still getting the same error",
    "that didn't work",
    "it didn't work for me",
    "that doesn't work either",
    "that didn't fix it",
    "I already tried that",
    "tried that already",
    "thanks but that didn't help, my account is still locked",
    "no",
    "No.",
    "NO!!",
    "nope",
    "Nope :(",
    "nah",
    "no it didn't",
    "not really",
    "sorry, no",
    "no luck",
    "I don't understand",
]

DOES_NOT_SAY_SO = [
    "",
    "  ",
    "?",
    "no problem",
    "No worries!",
    "no thanks",
    "no thank you",
    "no thanks, that helped",
    "nope, all good",
    "no that's all",
    "no, that's fine",
    "no, it helped",
    "no, that answers it",
    "not now",
    "no need",
    "not a problem",
    "not sure",
    "that helped, thanks",
    "that helps",
    "that did help",
    "that helped a lot",
    "thanks, very helpful",
    "couldn't have been more helpful",
    "it worked, thanks",
    "When are you open?",
    "how do I reset my password?",
    "why is my card not working?",
    "what if the reset link does not arrive?",
    "I did not receive the email",
    "is it not possible to pay by card?",
    "my order is not here yet",
    "the app does not open",
    "nothing is wrong",
    "what's wrong with my account?",
    "I don't want a refund",
    "my card doesn't work abroad",
    "it doesn't work abroad",
    "does it help if I restart?",
    "if that doesn't help, what should I do?",
    "what do I do when it doesn't work?",
    "in case it doesn't work, who do I call?",
    "what should I do if it still doesn't work",
    "is the shop still open?",
    "can I still cancel?",
    "do you still sell gift cards?",
    "I have no idea how to log in",
    "I don't understand why my bill is so high",
    "the agent didn't answer the phone",
    "nobody",
    "notice",
    "know",
    "nowhere to be found, my parcel",
]


@pytest.mark.parametrize("text", SAYS_IT_DID_NOT_HELP)
def test_replies_saying_the_answer_did_not_help_fire(text: str) -> None:
    assert not_helped(text)


@pytest.mark.parametrize("text", DOES_NOT_SAY_SO)
def test_thanks_declines_and_new_questions_do_not_fire(text: str) -> None:
    assert not not_helped(text)


def test_a_long_message_is_read_at_its_start_and_its_end() -> None:
    assert not_helped("that didn't help. " + "my account details are these. " * 500)
    assert not_helped("my account details are these. " * 500 + "and that didn't help")
    assert not not_helped("my account details are these. " * 500)


@pytest.mark.parametrize(
    "text",
    [
        "x" * 100_000,
        "no " * 30_000,
        "that didnt " * 10_000,
        "still " * 20_000,
        "not what i " * 10_000,
        "already tried " * 10_000,
        "\U0001f600" * 30_000,
        "".join(chr(i) for i in range(32)) * 1000,
        "\ud800 that didnt help \udfff",
        "a" + "\u0301" * 50_000,
    ],
)
def test_not_helped_on_hostile_input_does_not_raise(text: str) -> None:
    assert not_helped(text) in (True, False)
