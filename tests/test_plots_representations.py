import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from nnbook import plots_representations as pr


def test_weight_change_images_share_one_colour_scale(rng):
    W0 = 0.1 * rng.standard_normal((5, 64))
    W1 = W0 + rng.standard_normal((5, 64))
    fig = pr.weight_change_images(W0, W1, [0, 3], (8, 8), firing=np.linspace(0, 1, 5))
    tiles = [ax for ax in fig.axes if ax.images]
    assert len(tiles) == 6
    limits = {im.get_clim() for ax in tiles for im in ax.images}
    assert len(limits) == 1                      # one scale for every tile
    m = np.abs(np.r_[W0[[0, 3]].ravel(), W1[[0, 3]].ravel(), (W1 - W0)[[0, 3]].ravel()]).max()
    assert limits.pop() == pytest.approx((-m, m))
    ratio = np.linalg.norm(W1[3] - W0[3]) / np.linalg.norm(W0[3])
    assert tiles[1].get_title() == (f"unit 3\n$\\|\\Delta W\\|/\\|W_0\\|$ {ratio:.2f}\n"
                                    "fires on 75%")
    plt.close("all")


def test_weight_change_images_refuses_bad_shapes_and_units():
    with pytest.raises(ValueError, match=r"^W_before and W_after must both have shape "
                                         r"\(D_out, 64\), got \(2, 64\) and \(3, 64\)$"):
        pr.weight_change_images(np.ones((2, 64)), np.ones((3, 64)), [0], (8, 8))
    with pytest.raises(ValueError, match=r"^units must be a non-empty list of rows in "
                                         r"\[0, 2\), got \[2\]$"):
        pr.weight_change_images(np.ones((2, 64)), np.ones((2, 64)), [2], (8, 8))


def test_representation_plane_draws_the_boundary(rng):
    H, y = rng.standard_normal((30, 2)), np.arange(30) % 2
    ax = pr.representation_plane(H, y, w=np.array([0.0, 1.0, -1.0]))
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["class 0", "class 1", "output layer: logits equal"]
    with pytest.raises(ValueError, match=r"^H must have shape \(N, 2\), got \(30, 3\)$"):
        pr.representation_plane(np.ones((30, 3)), y)
    plt.close("all")
