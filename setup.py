import os

from setuptools import find_packages, setup

TENSORFLOW = "2.21.*"
# tensorflow-cpu and tensorflow[and-cuda] install the same `tensorflow/` files, so they must
# never be installed together: GPU machines install with `GANZOO_GPU=1 pip install ".[gpu]"`.
GPU = os.environ.get("GANZOO_GPU", "") not in ("", "0")

setup(
    name="ganzoo",
    version="0.1.0",
    description="A Keras 3 zoo of GANs trained with model.fit and exported for TF Serving and TFLite",
    long_description=open("README.md").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["ganzoo", "ganzoo.*"]),
    # The zoo's entries, weights and model cards ship in the wheel (ganzoo/zoo/).
    package_data={"ganzoo": ["py.typed"], "ganzoo.zoo": ["entries/*.json", "weights/*.npz", "cards/*.md", "cards/*.png"]},
    license="Apache-2.0",
    python_requires=">=3.11",  # keras 3.15, scipy, numpy and pillow need 3.11 (tests/test_packaging.py)
    # Everything a default code path imports (tests/test_packaging.py checks it against the code).
    install_requires=[
        *([] if GPU else [f"tensorflow-cpu=={TENSORFLOW}"]),
        "keras>=3.15,<3.16",  # the release ganzoo's Keras workarounds were verified on (ganzoo/compat.py)
        "tensorflow-datasets>=4.9",
        "importlib_resources",  # tensorflow-datasets imports it without declaring it
        "tensorboard",
        "click>=8.1",
        "numpy",
        "scipy",  # FID's matrix square root, SSIM's filtering, volumes' fragments (connected pieces)
        "pillow",  # reading user images (upscale, translate, evaluate-sr)
        "trimesh",  # gan3d: meshes out (.obj / .glb) and mesh files in (voxelised); file output only
        "scikit-image",  # gan3d: marching cubes, occupancy grid -> mesh; file output only
        "matplotlib",  # bench time-to-quality: its PNG plot (imported only there)
    ],
    extras_require={
        # ptxas before CUDA 12.6.3 can miscompile XLA code on Hopper GPUs (XLA warns about it).
        "gpu": [f"tensorflow[and-cuda]=={TENSORFLOW}", "nvidia-cuda-nvcc-cu12>=12.6.85"],
        "tflite": ["ai-edge-litert"],  # runs TFLite files (verify-export, bench serve); converting needs only TensorFlow
        "test": ["pytest>=8", "pytest-xdist>=3", "ai-edge-litert"],
    },
    entry_points={"console_scripts": ["ganzoo=ganzoo.cli:main"]},
)
