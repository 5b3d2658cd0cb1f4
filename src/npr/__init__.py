"""npr: the Native Parallel Reasoner.

An NPR model answers in Map-Process-Reduce blocks: a ``<guideline>`` of k ``<plan>`` s, k ``<step>`` s that run as
parallel branches which cannot see each other, and a ``<takeaway>`` that merges them. This package holds the text
format (:mod:`npr.schema`), the special tokens (:mod:`npr.tokens`) and the token-level topology that defines the
parallel attention and positions (:mod:`npr.topology`), with the engine, training and evaluation built on them.
"""

__version__ = "0.1.0"
