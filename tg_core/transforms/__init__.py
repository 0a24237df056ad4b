"""Event transforms: pure functions from event lists to event lists (or numbers).

They follow ActivityWatch's aw_transform semantics, never change their input events or data
dicts (changed data is copied; unchanged events and data may be shared), and keep every
timestamp aware UTC. One module per family; each module's docstring states its rules.
"""

from .categorize import Classifier, Rule, Tagger, categorize, classifier_for, tag, tagger_for
from .filters import exclude_keyvals, filter_keyvals, filter_keyvals_regex
from .flood import flood
from .merge import chunk_events_by_key, merge_events_by_keys
from .periods import filter_period_intersect, period_union, union_no_overlap
from .sort import concat, limit_events, sort_by_duration, sort_by_timestamp, sum_durations
from .titles import simplify_window_titles
from .url import domain_of, split_url_events

__all__ = [
    "Classifier", "Rule", "Tagger", "categorize", "chunk_events_by_key", "classifier_for",
    "concat",
    "domain_of", "exclude_keyvals", "filter_keyvals", "filter_keyvals_regex",
    "filter_period_intersect", "flood", "limit_events", "merge_events_by_keys",
    "period_union", "simplify_window_titles", "sort_by_duration", "sort_by_timestamp",
    "split_url_events", "sum_durations", "tag", "tagger_for", "union_no_overlap",
]
