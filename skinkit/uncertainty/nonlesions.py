"""Photos that are not skin lesions, built offline and reproducibly: the sample pictures that
scikit-learn and matplotlib install (a person, a temple with hills, a flower, a gift box, a logo,
shaded terrain), crops of them, and drawn frames (blank, noise, text, simple logos).

Each is prepared as `predict` prepares a photo (`data.prepare.square_gray`): gray, centre square,
SQUARE_SIZE pixels.
"""

import io

import numpy as np
import pandas as pd
from matplotlib import cbook, colormaps
from matplotlib.colors import LightSource
from PIL import Image, ImageDraw, ImageFont
from sklearn.datasets import load_sample_images

from ..data.prepare import SQUARE_SIZE, square_gray

MATPLOTLIB_PICTURES = {"person": "grace_hopper.jpg", "gift box": "Minduka_Present_Blue_Pack.png",
                       "logo": "logo2.png"}
TERRAIN = {"terrain": ("jacksboro_fault_dem.npz", "elevation"), "map": ("topobathy.npz", "topo")}
WORDS = "the quick brown fox jumps over a lazy dog while skinkit prints seven lesion classes"


def shaded(elevation):
    """A relief picture of an elevation grid (what a landscape looks like from above)."""
    rgb = LightSource(azdeg=315, altdeg=45).shade(np.asarray(elevation, dtype=float), cmap=colormaps["gist_earth"])
    return Image.fromarray((rgb[..., :3] * 255).astype(np.uint8))


def sample_pictures():
    """{name: PIL image} of the pictures installed with scikit-learn and matplotlib."""
    pictures = dict(zip(("temple and hills", "flower"), map(Image.fromarray, load_sample_images().images)))
    for name, file in MATPLOTLIB_PICTURES.items():
        with Image.open(cbook.get_sample_data(file)) as image:
            pictures[name] = image.convert("RGB")
    return pictures | {name: shaded(cbook.get_sample_data(file)[key]) for name, (file, key) in TERRAIN.items()}


def corners(image):
    """The four corner quarters of a picture (more views of the same scene)."""
    w, h = image.size
    return [image.crop((x, y, x + w // 2, y + h // 2)) for x in (0, w // 2) for y in (0, h // 2)]


def text_frame(rng, size=SQUARE_SIZE):
    """A screenshot-like frame of random words in black on white."""
    image = Image.new("L", (size, size), 255)
    draw, font = ImageDraw.Draw(image), ImageFont.load_default(size=int(rng.integers(14, 28)))
    for top in range(8, size - 20, int(font.size * 1.4)):
        draw.text((8, top), " ".join(rng.choice(WORDS.split(), 6)), fill=0, font=font)
    return image


def logo_frame(rng, size=SQUARE_SIZE):
    """A flat logo: a few filled circles and rectangles on a plain background."""
    image = Image.new("L", (size, size), int(rng.integers(180, 256)))
    draw = ImageDraw.Draw(image)
    for _ in range(3):
        x, y = rng.integers(20, size - 120, 2)
        box = [int(x), int(y), int(x + rng.integers(40, 110)), int(y + rng.integers(40, 110))]
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=int(rng.integers(0, 160)))
    return image


def drawn_frames(seed=0, size=SQUARE_SIZE):
    """[(kind, name, PIL image)]: blank, noise, text and logo frames, drawn from one seed."""
    rng = np.random.default_rng(seed)
    frames = [("blank", f"blank {value}", Image.new("L", (size, size), value)) for value in (0, 128, 255)]
    frames += [("noise", f"uniform noise {n}", Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)))
               for n in range(3)]
    frames += [("text", f"text {n}", text_frame(rng, size)) for n in range(4)]
    return frames + [("logo", f"drawn logo {n}", logo_frame(rng, size)) for n in range(4)]


def prepared(image):
    """A picture as `predict` prepares a photo: uint8 gray (SQUARE_SIZE, SQUARE_SIZE)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return np.array(square_gray(buffer, SQUARE_SIZE))


def non_lesion_photos(seed=0):
    """(table of kind and name per photo, uint8 images (N, 1, S, S)): pictures, their corners, drawn frames."""
    rows = []
    for name, picture in sample_pictures().items():
        rows += [("picture", name, picture)] + [("crop of a picture", f"{name}, corner {n}", corner)
                                               for n, corner in enumerate(corners(picture))]
    rows += drawn_frames(seed)
    table = pd.DataFrame([row[:2] for row in rows], columns=["kind", "name"])
    return table, np.stack([prepared(image) for _, _, image in rows])[:, None]
