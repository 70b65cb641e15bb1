using MobileUNet.Model;
using MobileUNet.Data;

namespace MobileUNet.Inference;

/// <summary>
/// One loaded model that turns a pre-processed image into foreground probabilities. Implementations own their
/// runtime session and buffers, are created once, and allocate nothing per <see cref="Run"/> call.
/// </summary>
public interface ISegmenter : IDisposable
{
    ModelSpec Spec { get; }

    /// <summary>The foreground threshold used when a model records none.</summary>
    const float DefaultThreshold = 0.5f;

    /// <summary>Foreground when probability &gt;= this: the threshold the model records (ONNX metadata), else 0.5.</summary>
    float Threshold => DefaultThreshold;

    /// <summary>The normalisation the model was trained with; callers apply it (see <see cref="Normalization.ToChw"/>).</summary>
    Normalization Normalization { get; }

    /// <summary>
    /// <paramref name="chw"/>: one image, 3 x S x S floats, planar, already normalised.
    /// <paramref name="probabilities"/>: receives S x S foreground probabilities in [0, 1], row-major.
    /// </summary>
    void Run(ReadOnlySpan<float> chw, Span<float> probabilities);

    /// <summary>The most images one <see cref="RunBatch"/> call takes (the model's batch dimension, when fixed).</summary>
    int MaxBatch => 1;

    /// <summary>
    /// <paramref name="count"/> images back to back in <paramref name="chw"/> ([count, 3, S, S]) to their
    /// probabilities ([count, S, S]). Backends that can run a batch in one call override this; the default runs
    /// them one by one.
    /// </summary>
    void RunBatch(ReadOnlySpan<float> chw, int count, Span<float> probabilities)
    {
        int plane = Spec.InputSize * Spec.InputSize;
        for (int i = 0; i < count; i++) Run(chw.Slice(i * 3 * plane, 3 * plane), probabilities.Slice(i * plane, plane));
    }
}
