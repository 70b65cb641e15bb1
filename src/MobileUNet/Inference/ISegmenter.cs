using MobileUNet.Model;

namespace MobileUNet.Inference;

/// <summary>
/// One loaded model that turns a pre-processed image into foreground probabilities. Implementations own their
/// runtime session and buffers, are created once, and allocate nothing per <see cref="Run"/> call.
/// </summary>
public interface ISegmenter : IDisposable
{
    ModelSpec Spec { get; }

    /// <summary>The normalisation the model was trained with; callers apply it (see <see cref="Normalization.ToChw"/>).</summary>
    Normalization Normalization { get; }

    /// <summary>
    /// <paramref name="chw"/>: one image, 3 x S x S floats, planar, already normalised.
    /// <paramref name="probabilities"/>: receives S x S foreground probabilities in [0, 1], row-major.
    /// </summary>
    void Run(ReadOnlySpan<float> chw, Span<float> probabilities);
}
