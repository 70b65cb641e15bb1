using MobileUNet.Export;
using MobileUNet.Inference;
using MobileUNet.Model;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MobileUNet.Data;

namespace MobileUNet.Serve;

/// <summary>
/// One ONNX Runtime session that runs up to <see cref="MaxBatch"/> images per call over the export's symbolic
/// batch dimension. Input and output buffers are pinned once at the largest batch; a call wraps the first n
/// images of each in tensors of shape [n,...] (no copy). Pixels are normalised straight into their input slot
/// (<see cref="SetInput"/>). Only the batcher's single worker calls <see cref="SetInput"/> and <see cref="Run"/>.
/// </summary>
sealed class BatchSegmenter : IDisposable
{
    readonly InferenceSession session;
    readonly RunOptions runOptions = new();
    readonly string inputName, outputName;
    readonly float[] input, output;

    public BatchSegmenter(byte[] onnx, string source, int maxBatch, RuntimeOptions runtime, float? threshold = null)
    {
        using var options = runtime.CreateSessionOptions();
        try { session = new InferenceSession(onnx, options); }
        catch (OnnxRuntimeException e) { throw new InvalidDataException($"{source}: not a loadable ONNX model ({e.Message.ReplaceLineEndings(" ")})."); }
        try
        {
            Metadata = OnnxMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap, source);
            Threshold = threshold ?? Metadata.Threshold;
            var (inName, inMeta) = session.InputMetadata.Single();
            var (outName, outMeta) = session.OutputMetadata.First();
            if (inMeta.ElementDataType != TensorElementType.Float || outMeta.ElementDataType != TensorElementType.Float)
                throw new InvalidDataException($"{source}: serve runs float32-I/O exports; this one has {inMeta.ElementDataType} input (export without --float16-io).");
            if (inMeta.Dimensions[0] > 0 && inMeta.Dimensions[0] != 1 || maxBatch > 1 && inMeta.Dimensions[0] == 1)
                throw new InvalidDataException($"{source}: the model's batch dimension is fixed at {inMeta.Dimensions[0]}; serve needs the export's symbolic batch N (or --max-batch 1).");
            inputName = inName;
            outputName = outName;
        }
        catch
        {
            session.Dispose();
            throw;
        }
        Source = source;
        MaxBatch = maxBatch;
        int s = Spec.InputSize;
        input = GC.AllocateArray<float>(maxBatch * 3 * s * s, pinned: true);
        output = GC.AllocateArray<float>(maxBatch * s * s, pinned: true);
        OnnxBytes = onnx;
    }

    public string Source { get; }
    public OnnxMetadata Metadata { get; }

    /// <summary>Foreground when probability &gt;= this: the threshold asked for, else the one the model records.</summary>
    public float Threshold { get; }
    public ModelSpec Spec => Metadata.Spec;
    public Normalization Normalization => Metadata.Normalization;
    public int MaxBatch { get; }

    /// <summary>The export being run, as bytes: the browser page runs the very same model.</summary>
    public byte[] OnnxBytes { get; }

    /// <summary>
    /// Image <paramref name="index"/> of the next batch: S x S interleaved RGB or RGBA pixels (alpha ignored),
    /// normalised into the pinned input as planar 3 x S x S.
    /// </summary>
    public void SetInput(int index, ReadOnlySpan<byte> pixels, int channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, MaxBatch);
        int s = Spec.InputSize;
        ISegmenter.CheckPixels(pixels, channels, 1, s);
        Normalization.ToChw(pixels, channels, input.AsSpan(index * 3 * s * s, 3 * s * s));
    }

    /// <summary>Probabilities of image <paramref name="index"/> of the last batch (S x S).</summary>
    public ReadOnlySpan<float> OutputSlot(int index) => output.AsSpan(index * Spec.InputSize * Spec.InputSize, Spec.InputSize * Spec.InputSize);

    /// <summary>Runs the first <paramref name="count"/> input slots as one batch.</summary>
    public void Run(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, MaxBatch);
        int s = Spec.InputSize;
        using var inValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, input.AsMemory(0, count * 3 * s * s), [count, 3, s, s]);
        using var outValue = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, output.AsMemory(0, count * s * s), [count, 1, s, s]);
        session.Run(runOptions, [inputName], [inValue], [outputName], [outValue]);
    }

    public void Dispose()
    {
        runOptions.Dispose();
        session.Dispose();
    }
}
