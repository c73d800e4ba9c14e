"""Size and colour mode of each raw image, read from its header with Pillow.

Only the header is read (no decoding), so thousands of large images take seconds. The size is
needed to find points outside the image; the mode tells grayscale files (ShanghaiTech part A
and UCF_CC_50 have many), which the summary reports: the training pipeline turns them into three
equal channels.
"""

import dataclasses

from PIL import Image, UnidentifiedImageError

from syrac.common.errors import SyracError

# Pillow modes with a single intensity channel (with or without alpha).
GRAYSCALE_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


@dataclasses.dataclass(frozen=True)
class ImageFacts:
    """What the conversion needs to know of an image: its size and whether it is grayscale."""

    width: int
    height: int
    grayscale: bool


def read_facts(path):
    """Return the :class:`ImageFacts` of an image file, or fail naming it."""
    try:
        with Image.open(path) as image:
            return ImageFacts(image.width, image.height, image.mode in GRAYSCALE_MODES)
    except FileNotFoundError:
        raise SyracError(f"{path}: no such image file") from None
    except UnidentifiedImageError:
        raise SyracError(f"{path}: not a readable image file") from None
    except OSError as error:
        raise SyracError(f"{path}: cannot read the image ({error})") from None


def read_all_facts(paths, label="images"):
    """``{path: ImageFacts}`` for every path, with a progress bar."""
    # syrac.common.progress imports Keras (and so TensorFlow): only once the raw layout checked out.
    from syrac.common.progress import progress_bar

    paths = list(dict.fromkeys(paths))
    bar = progress_bar(len(paths), label, enabled=len(paths) > 0)
    facts = {}
    for index, path in enumerate(paths, start=1):
        facts[path] = read_facts(path)
        bar.update(index)
    return facts
