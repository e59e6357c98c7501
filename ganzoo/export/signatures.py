"""Building blocks of serving signatures: inputs checked inside the graph (an InvalidArgument
error that names the input, instead of a shape error deep in a network) and encoded outputs."""

from __future__ import annotations

MAX_SAMPLES = 1024  # per `sample` request: bounds a server's memory for one call


def checked(value, rank: int, message: str, extra=()):
    """`value` once its rank (and any `extra` conditions) hold at run time. Signature input
    specs have unknown rank on purpose: a loaded signature does not enforce declared shapes, and
    a static shape would let the graph fold these checks away."""
    import tensorflow as tf

    checks = [tf.debugging.assert_equal(tf.rank(value), rank, message=message)]
    with tf.control_dependencies(checks):
        checks += [tf.debugging.assert_equal(condition(value), True, message=message) for condition in extra]
    with tf.control_dependencies(checks):
        return tf.identity(value)  # callers give it its static shape with tf.ensure_shape


def checked_latent(latent, latent_dim: int):
    import tensorflow as tf

    message = f"latent must be a float32 tensor of shape [batch, {latent_dim}]"
    latent = checked(latent, 2, message, [lambda x: tf.equal(tf.shape(x)[1], latent_dim)])
    return tf.ensure_shape(latent, [None, latent_dim])


def checked_count(num_samples):
    import tensorflow as tf

    message = f"num_samples must be an int32 scalar between 1 and {MAX_SAMPLES}"
    return tf.ensure_shape(checked(num_samples, 0, message, [lambda n: tf.logical_and(n >= 1, n <= MAX_SAMPLES)]), [])


def checked_labels(label, num_classes: int, batch):
    import tensorflow as tf

    message = f"label must be an int32 tensor of shape [batch] with values in [0, {num_classes})"
    in_range = lambda y: tf.reduce_all((y >= 0) & (y < num_classes))  # noqa: E731
    label = checked(label, 1, message, [lambda y: tf.equal(tf.size(y), batch), in_range])
    return tf.ensure_shape(label, [None])


def checked_class(label, num_classes: int):
    import tensorflow as tf

    message = f"label must be an int32 scalar in [0, {num_classes})"
    label = checked(label, 0, message, [lambda y: (y >= 0) & (y < num_classes)])
    return tf.ensure_shape(label, [])


def encode_pngs(images):
    """A batch of [-1, 1] images -> a string tensor of PNG files."""
    import tensorflow as tf

    from ganzoo.images import to_uint8_tensor

    return tf.map_fn(tf.io.encode_png, to_uint8_tensor(images), fn_output_signature=tf.string)
