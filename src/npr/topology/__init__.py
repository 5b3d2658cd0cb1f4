"""The token-level topology of NPR trajectories: the single source of truth for parallel attention and positions.

Everything that runs a model over an NPR trajectory - the engine, the SFT collator, the RL log-prob pass, the
viewer - gets its segments, RoPE positions, attention visibility and prediction sources from here (DESIGN §3).

>>> lay = layout(token_ids, TagIds.from_tokenizer(tok), prompt_len)   # doctest: +SKIP
>>> lay.position_ids, lay.dense_mask(), lay.pred                       # doctest: +SKIP
"""

from npr.topology.layout import Layout, layout, pack
from npr.topology.segments import Segment, SegmentKind, TopologyError

__all__ = ["Layout", "Segment", "SegmentKind", "TopologyError", "layout", "pack"]
