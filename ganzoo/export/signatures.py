"""Building blocks of serving signatures: inputs checked inside the graph (an InvalidArgument
error that names the input, instead of a shape error deep in a network) and encoded outputs."""

from __future__ import annotations

MAX_SAMPLES = 1024  # per `sample` request: bounds a server's memory for one call


def checked(value, rank: int, message: str, extra=(), shape=None):
    """`value` with its static `shape` (default: `rank` unknown dimensions) once its rank and every
    `extra` condition hold at run time, else an InvalidArgument error with `message`.

    The export traces signatures with inputs of unknown shape (a loaded signature enforces no
    declared shape, and a known one would let the graph fold these checks away) and writes the
    declared shapes into the signature_def for clients (saved_model.advertise_shapes). Conditions
    are safe at any rank (`dims`, not indexing), and the static shape comes from a reshape after
    the checks: grappler reads tf.ensure_shape as a fact about its input and, from it, folded the
    rank check away and ran other checks on misshapen values (measured, TensorFlow 2.21)."""
    import tensorflow as tf

    checks = [tf.debugging.Assert(tf.equal(tf.rank(value), rank), [message])]
    checks += [tf.debugging.Assert(tf.reduce_all(condition(value)), [message]) for condition in extra]
    shape = [None] * rank if shape is None else list(shape)
    with tf.control_dependencies(checks):
        if None not in shape[1:]:
            return tf.reshape(value, [-1 if d is None else d for d in shape])  # at most the first is None
        return tf.reshape(value, tf.stack([(-1 if i == 0 else dims(value, i, 1)[0]) if d is None else d
                                           for i, d in enumerate(shape)]))


def dims(value, start: int, count: int):
    """`count` dimensions of `value` from `start` on, 0 for those it lacks: safe at any rank."""
    import tensorflow as tf

    return tf.concat([tf.shape(value), tf.zeros([start + count], tf.int32)], 0)[start : start + count]


def checked_latent(latent, latent_dim: int):
    import tensorflow as tf

    message = f"latent must be a finite float32 tensor of shape [batch, {latent_dim}]"
    return checked(latent, 2, message, [lambda x: tf.equal(dims(x, 1, 1), latent_dim), lambda x: tf.math.is_finite(x)],
                   shape=[None, latent_dim])


def checked_count(num_samples):
    import tensorflow as tf

    message = f"num_samples must be an int32 scalar between 1 and {MAX_SAMPLES}"
    return checked(num_samples, 0, message, [lambda n: tf.logical_and(n >= 1, n <= MAX_SAMPLES)])


def checked_labels(label, num_classes: int, batch):
    import tensorflow as tf

    message = f"label must be an int32 tensor of shape [batch] with values in [0, {num_classes})"
    in_range = lambda y: tf.reduce_all((y >= 0) & (y < num_classes))  # noqa: E731
    return checked(label, 1, message, [lambda y: tf.equal(tf.size(y), batch), in_range])


def checked_class(label, num_classes: int):

    message = f"label must be an int32 scalar in [0, {num_classes})"
    return checked(label, 0, message, [lambda y: (y >= 0) & (y < num_classes)])


def encode_pngs(images):
    """A batch of [-1, 1] images -> a string tensor of PNG files."""
    import tensorflow as tf

    from ganzoo.images import to_uint8_tensor

    return tf.map_fn(tf.io.encode_png, to_uint8_tensor(images), fn_output_signature=tf.string)


def checked_pixels(height, width, max_pixels: int, what: str = "image"):
    """An assert (for control dependencies) that height x width is at most `max_pixels`."""
    import tensorflow as tf

    pixels = tf.cast(height, tf.int64) * tf.cast(width, tf.int64)
    return tf.debugging.Assert(pixels <= max_pixels, [f"{what} is", height, "x", width,
                                                     f"pixels: this export takes at most {max_pixels} pixels per image"])


def encoded_image_size(encoded):
    """(height, width) of a PNG or JPEG file from its header, before anything is decoded; any other
    file is an InvalidArgument error."""
    import tensorflow as tf

    padded = encoded + tf.constant(b"\0" * 32)  # header reads stay inside short strings
    is_png = tf.equal(tf.strings.substr(padded, 0, 8), b"\x89PNG\r\n\x1a\n")
    is_jpeg = tf.equal(tf.strings.substr(padded, 0, 2), b"\xff\xd8")
    known = tf.debugging.Assert(is_png | is_jpeg, ["image_bytes must be one PNG or JPEG file"])

    def png_size():  # IHDR: width, then height, big-endian uint32 at bytes 16 and 20
        raw = tf.cast(tf.io.decode_raw(tf.strings.substr(padded, 16, 8), tf.uint8), tf.int64)
        big_endian = lambda b: ((b[0] * 256 + b[1]) * 256 + b[2]) * 256 + b[3]  # noqa: E731
        return tf.stack([big_endian(raw[4:8]), big_endian(raw[0:4])])

    def jpeg_size():
        return tf.cast(tf.io.extract_jpeg_shape(encoded)[:2], tf.int64)

    with tf.control_dependencies([known]):
        size = tf.cond(is_png, png_size, jpeg_size)
    return size[0], size[1]
