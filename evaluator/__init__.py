"""Face-alignment evaluation: AWing/FAN model, benchmark readers, metrics, scoring.

A plain Python/PyTorch/numpy library: it never imports the web stack, so workers and
command-line users can run it alone (``python -m evaluator --help``).
"""

__version__ = "0.1.0"
