"""What the sample account writes about: six subjects, each with its own phrases and hashtags.

A post is an opener + a subject + a closer, so each subject yields hundreds of distinct posts
that still read like one person's voice. Openers are unique per subject (the generator uses them
to tell which subject wrote a post).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SampleTopic:
    key: str
    share: float  # how often the account posts about it
    appeal: float  # engagement multiplier of the subject
    hashtags: tuple[str, ...]
    openers: tuple[str, ...]
    subjects: tuple[str, ...]
    closers: tuple[str, ...]


SAMPLE_TOPICS: tuple[SampleTopic, ...] = (
    SampleTopic(
        key="espresso",
        share=0.2,
        appeal=1.3,
        hashtags=("espresso", "coffee", "homebarista"),
        openers=("Dialed in", "Finally nailed", "Morning experiment:", "Pulled a shot with", "Tasting notes on"),
        subjects=(
            "a light roast Ethiopian at 18g in, 40g out over 30 seconds",
            "the new flat burr grinder, two clicks finer than last week",
            "a washed Colombian that tastes like caramel and red apple",
            "the milk steaming technique for silky latte art microfoam",
            "pre-infusion at 3 bar before ramping the espresso pressure",
            "a decaf that actually tastes like coffee for once",
            "water chemistry for espresso: lower bicarbonate, brighter cup",
        ),
        closers=(
            "The crema held up beautifully.",
            "Sweet, balanced, no sourness.",
            "Worth the grinder upgrade.",
            "Still chasing the perfect shot.",
            "What ratio do you brew at?",
        ),
    ),
    SampleTopic(
        key="trail-running",
        share=0.18,
        appeal=1.0,
        hashtags=("trailrunning", "ultrarunning", "running"),
        openers=("Long run report:", "Hill repeats today on", "Race prep:", "Out on the trails,", "Recovery week with"),
        subjects=(
            "22 km of muddy singletrack with 900 m of climbing",
            "the ridge loop, legs heavy but heart rate steady",
            "fueling every 30 minutes with gels and salt tabs",
            "new trail shoes with a rock plate and a wider toe box",
            "an easy zone 2 jog through the forest at sunrise",
            "a 50k training block, peak week mileage at 95 km",
            "technical descents, trying to trust my footing",
        ),
        closers=(
            "Knees are happy.",
            "The views made every climb worth it.",
            "Strava says slow, soul says great.",
            "Ice bath next.",
            "Who else is racing this spring?",
        ),
    ),
    SampleTopic(
        key="python-tooling",
        share=0.2,
        appeal=0.9,
        hashtags=("python", "devtools", "opensource"),
        openers=("TIL in Python:", "Shipped a release of", "Refactored", "Benchmark:", "Hot take on"),
        subjects=(
            "the dependency resolver now installs our project in four seconds",
            "type hints caught a None bug before it reached production",
            "the test suite runs in parallel and finished in a third of the time",
            "replacing setup.py with pyproject.toml and a lockfile",
            "a pre-commit hook that runs the linter and formatter on staged files",
            "profiling the slow endpoint and finding an N+1 database query",
            "structural pattern matching cleaned up our message parser",
        ),
        closers=(
            "Small change, big win.",
            "Changelog in the repo.",
            "Pull requests welcome.",
            "Should have done this years ago.",
            "Which tools do you swear by?",
        ),
    ),
    SampleTopic(
        key="personal-finance",
        share=0.14,
        appeal=0.8,
        hashtags=("personalfinance", "investing", "budgeting"),
        openers=("Money note:", "Monthly budget check-in:", "Reminder about", "Paid off", "Rebalanced"),
        subjects=(
            "the emergency fund now covers six months of expenses",
            "index funds with low fees beat most stock pickers over a decade",
            "automating savings on payday so the money never hits checking",
            "the last of the credit card debt, interest rate was brutal",
            "the retirement portfolio back to 80 percent stocks and 20 percent bonds",
            "cutting subscriptions saved more than a hundred dollars a month",
            "tax-advantaged accounts before a taxable brokerage account",
        ),
        closers=(
            "Boring is good.",
            "Not financial advice, just what works for me.",
            "Compound interest is patient.",
            "Spreadsheet attached in spirit.",
            "How do you budget?",
        ),
    ),
    SampleTopic(
        key="houseplants",
        share=0.14,
        appeal=1.1,
        hashtags=("houseplants", "plantparent", "urbanjungle"),
        openers=("Plant update:", "Repotted", "New leaf on", "Propagation station:", "Watering lesson from"),
        subjects=(
            "the monstera unfurled a fenestrated leaf by the south window",
            "the fiddle leaf fig into a terracotta pot with chunky soil",
            "pothos cuttings rooting in water after two weeks",
            "the calathea, which finally forgave me for the dry air",
            "a snake plant that thrives on neglect and low light",
            "fungus gnats gone after bottom watering and sticky traps",
            "the string of pearls hanging in the kitchen",
        ),
        closers=(
            "Tiny victories.",
            "Humidity matters more than I thought.",
            "The jungle grows.",
            "Send help, I bought another one.",
            "Any tips for yellowing leaves?",
        ),
    ),
    SampleTopic(
        key="film-photography",
        share=0.14,
        appeal=1.0,
        hashtags=("filmphotography", "35mm", "shootfilm"),
        openers=("Fresh scans:", "Developed at home:", "Loaded", "Shot a roll of", "Darkroom night with"),
        subjects=(
            "Portra 400 through an old rangefinder on a foggy morning",
            "black and white Tri-X pushed to 1600 for a night street walk",
            "the 50mm lens wide open for soft portraits in window light",
            "expired slide film with wild color shifts at the harbor",
            "a medium format camera, twelve frames and every one counts",
            "fixer and stop bath mixed fresh, negatives drying in the shower",
            "a light meter app versus sunny 16 on a bright beach day",
        ),
        closers=(
            "Grain for days.",
            "Film is slow and that is the point.",
            "Scans in the thread.",
            "Two keepers out of thirty-six.",
            "What stock should I try next?",
        ),
    ),
)
