"""Media rules of attachments: what a file is (from its bytes) and the renditions of photos.

Pure and synchronous, no I/O: the service runs ``sniff`` and ``render`` in a thread.
"""

from rivet_attachments.media.images import Renditions, render
from rivet_attachments.media.sniff import Kind, Sniffed, TooLarge, Unsupported, sniff

__all__ = ["Kind", "Renditions", "Sniffed", "TooLarge", "Unsupported", "render", "sniff"]
