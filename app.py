"""ganplay's web app: the router and the home page. Start it with `streamlit run app.py`."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="ganplay", page_icon=":material/blur_on:", layout="wide")

from pages.common import device_text, is_active, registry, run_status_line

# Less empty space above each page's title: at 1000 px high, Streamlit's default pushes the live picture
# of a run below the fold.
st.html("<style>[data-testid='stMainBlockContainer'] { padding-top: 2.5rem; }</style>")

PAGES = {
    "train": st.Page("pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    "toy": st.Page("pages/toy_lab.py", title="Toy 2-D lab", icon=":material/scatter_plot:", url_path="toy_lab"),
    "samples": st.Page("pages/samples.py", title="Samples", icon=":material/grid_view:", url_path="samples"),
    "interpolate": st.Page(
        "pages/interpolate.py", title="Interpolate", icon=":material/animation:", url_path="interpolate"
    ),
    "restore": st.Page("pages/restore.py", title="Restore", icon=":material/healing:", url_path="restore"),
    "directions": st.Page(
        "pages/directions.py", title="Directions", icon=":material/open_with:", url_path="directions"
    ),
    "runs": st.Page("pages/runs.py", title="Runs", icon=":material/list:", url_path="runs"),
    "learn": st.Page("pages/learn.py", title="Learn", icon=":material/school:", url_path="learn"),
}


def home() -> None:
    st.title("ganplay")
    st.write(
        "A playground to learn, train and explore Generative Adversarial Networks: a generator learns to "
        "turn noise into data while a discriminator learns to tell its output from the real thing. "
        "Train one here on 2-D toys, digits or your own images, watch it learn live, then explore what it "
        "learned."
    )
    st.caption(f"Training device: {device_text()}")
    st.subheader("Runs in progress")
    active = [s for s in registry().list_runs() if is_active(s)]
    if not active:
        st.write("None right now.")
    for snap in active:
        st.markdown(run_status_line(snap))
        st.progress(snap.progress)
    st.subheader("Pages")
    st.page_link(PAGES["train"], label="Train: pick data, model and loss; start, watch, pause and stop runs")
    st.page_link(PAGES["toy"], label="Toy 2-D lab: real and generated points, D's view of the plane, G's map")
    st.page_link(PAGES["samples"], label="Samples: draw from a checkpoint, with seed, truncation and class")
    st.page_link(PAGES["interpolate"], label="Interpolate: walk the latent space, lerp against slerp")
    st.page_link(PAGES["restore"], label="Restore: find z for a real digit, fill in what is missing or remove noise")
    st.page_link(PAGES["directions"], label="Directions: what moving z along its main directions changes (SeFa, PCA)")
    st.page_link(PAGES["runs"], label="Runs: compare, diff, resume, delete and download runs")
    st.page_link(PAGES["learn"], label="Learn: the GAN game written out, and experiments that show its lessons live")


st.navigation([st.Page(home, title="Home", icon=":material/home:", default=True), *PAGES.values()]).run()
