using System.Globalization;
using MobileUNet.Export;
using MobileUNet.Model;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MobileUNet.Data;

namespace MobileUNet.Inference;

/// <summary>
/// Runs an exported MobileUNet with ONNX Runtime. The input and output tensors are created once over pinned
/// managed buffers and bound with an <see cref="OrtIoBinding"/>: <see cref="Segment"/> normalises the caller's
/// pixels straight into the pinned input, runs, and copies probabilities out, without allocating.
/// </summary>
public sealed class OnnxSegmenter : ISegmenter
{
    readonly InferenceSession session;
    readonly RunOptions runOptions = new();
    readonly OrtIoBinding binding;
    readonly OrtValue inputValue, outputValue;
    readonly float[]? input, output;
    readonly Float16[]? inputHalf, outputHalf;
    // An fp16-input model normalises here first (Normalization writes floats), then converts into inputHalf.
    readonly float[]? inputScratch;
    readonly string inputName = "", outputName = "";
    // One binding per batch size met, each over its own pinned buffers: made on first use, reused after.
    readonly Dictionary<int, BatchBinding> batchBindings = [];

    OnnxSegmenter(InferenceSession session, string source)
    {
        this.session = session;
        Source = source;
        try
        {
            Metadata = OnnxMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap, source);
            (inputName, var inputMeta) = CheckImageInput(session, source);
            (outputName, var outputMeta) = session.OutputMetadata.First();
            MaxBatch = inputMeta.Dimensions[0] > 0 ? (int)inputMeta.Dimensions[0] : int.MaxValue;
            int s = Metadata.Spec.InputSize;
            if (inputMeta.Dimensions[2] != s)
                throw new InvalidDataException($"{source}: model input is {inputMeta.Dimensions[2]} pixels but its metadata says {s}.");
            if (outputMeta.Dimensions is not [_, 1, var oh, var ow] || oh != s || ow != s)
                throw new InvalidDataException($"{source}: model output '{outputName}' is [{Dims(outputMeta)}], expected [N,1,{s},{s}].");

            long[] inShape = [1, 3, s, s], outShape = [1, 1, s, s];
            if (inputMeta.ElementDataType == TensorElementType.Float16)
            {
                inputHalf = GC.AllocateArray<Float16>(3 * s * s, pinned: true);
                inputScratch = new float[3 * s * s];
                inputValue = OrtValue.CreateTensorValueFromMemory(inputHalf, inShape);
            }
            else
            {
                input = GC.AllocateArray<float>(3 * s * s, pinned: true);
                inputValue = OrtValue.CreateTensorValueFromMemory(input, inShape);
            }
            if (outputMeta.ElementDataType == TensorElementType.Float16)
            {
                outputHalf = GC.AllocateArray<Float16>(s * s, pinned: true);
                outputValue = OrtValue.CreateTensorValueFromMemory(outputHalf, outShape);
            }
            else
            {
                output = GC.AllocateArray<float>(s * s, pinned: true);
                outputValue = OrtValue.CreateTensorValueFromMemory(output, outShape);
            }
            binding = session.CreateIoBinding();
            binding.BindInput(inputName, inputValue);
            binding.BindOutput(outputName, outputValue);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Opens an exported file; a missing, non-ONNX or truncated file, or one that is not a whole MobileUNet, fails with a message naming it.</summary>
    public static OnnxSegmenter Open(string path, RuntimeOptions? options = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such model file.", path);
        OnnxWeights.RequireFinite(File.ReadAllBytes(path), path);
        return Create(() =>
        {
            using var so = (options ?? new()).CreateSessionOptions();
            return new InferenceSession(path, so);
        }, path);
    }

    /// <summary>Opens a model held in memory (e.g. just exported); <paramref name="source"/> names it in errors.</summary>
    public static OnnxSegmenter FromBytes(byte[] model, string source, RuntimeOptions? options = null)
    {
        OnnxWeights.RequireFinite(model, source);
        return Create(() =>
        {
            using var so = (options ?? new()).CreateSessionOptions();
            return new InferenceSession(model, so);
        }, source);
    }

    static OnnxSegmenter Create(Func<InferenceSession> open, string source)
    {
        InferenceSession session;
        try
        {
            session = open();
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{source}: not a loadable ONNX model ({FirstLine(e.Message)}).");
        }
        return new OnnxSegmenter(session, source);
    }

    public string Source { get; }
    public OnnxMetadata Metadata { get; }
    public ModelSpec Spec => Metadata.Spec;
    public float Threshold => Metadata.Threshold;
    public Normalization Normalization => Metadata.Normalization;

    public void Segment(ReadOnlySpan<byte> pixels, int channels, Span<float> probabilities)
    {
        ISegmenter.CheckPixels(pixels, channels, 1, Spec.InputSize);
        if (input is not null) Normalization.ToChw(pixels, channels, input);
        else
        {
            Normalization.ToChw(pixels, channels, inputScratch!);
            ToHalf(inputScratch!, inputHalf!);
        }
        RunBound(probabilities);
    }

    public void Run(ReadOnlySpan<float> chw, Span<float> probabilities)
    {
        if (input is not null) chw[..input.Length].CopyTo(input);
        else ToHalf(chw, inputHalf!);
        RunBound(probabilities);
    }

    static void ToHalf(ReadOnlySpan<float> from, Float16[] to)
    {
        for (int i = 0; i < to.Length; i++) to[i] = (Float16)from[i];
    }

    /// <summary>Runs the single-image binding over what the input buffer holds now.</summary>
    void RunBound(Span<float> probabilities)
    {
        session.RunWithBinding(runOptions, binding);
        if (output is not null) output.CopyTo(probabilities);
        else
        {
            var half = outputHalf!;
            for (int i = 0; i < half.Length; i++) probabilities[i] = (float)half[i];
        }
        if (!outputChecked)
        {
            outputChecked = true;
            OutputCheck.RequireFinite(probabilities[..(Spec.InputSize * Spec.InputSize)], Source);
        }
    }

    bool outputChecked;

    /// <summary>The model's batch dimension when fixed; unbounded for a symbolic one (our exports name it N).</summary>
    public int MaxBatch { get; }

    /// <summary>
    /// Runs <paramref name="count"/> images in one session call over a binding made once per batch size, each
    /// normalised straight into that binding's pinned input. fp16 models and single images take <see cref="Segment"/>.
    /// </summary>
    public void SegmentBatch(ReadOnlySpan<byte> pixels, int channels, int count, Span<float> probabilities)
    {
        int s = Spec.InputSize, plane = s * s;
        CheckCount(count);
        ISegmenter.CheckPixels(pixels, channels, count, s);
        if (count == 1 || input is null || output is null)
        {
            for (int i = 0; i < count; i++)
                Segment(pixels.Slice(i * channels * plane, channels * plane), channels, probabilities.Slice(i * plane, plane));
            return;
        }
        var batch = Batch(count);
        for (int i = 0; i < count; i++)
            Normalization.ToChw(pixels.Slice(i * channels * plane, channels * plane), channels, batch.Input.AsSpan(i * 3 * plane, 3 * plane));
        session.RunWithBinding(runOptions, batch.Binding);
        batch.Output.CopyTo(probabilities);
    }

    /// <summary>
    /// Runs <paramref name="count"/> images in one session call over a binding made once per batch size. fp16
    /// models and single images take <see cref="Run"/>.
    /// </summary>
    public void RunBatch(ReadOnlySpan<float> chw, int count, Span<float> probabilities)
    {
        int s = Spec.InputSize, plane = s * s;
        CheckCount(count);
        if (count == 1 || input is null || output is null)
        {
            for (int i = 0; i < count; i++) Run(chw.Slice(i * 3 * plane, 3 * plane), probabilities.Slice(i * plane, plane));
            return;
        }
        var batch = Batch(count);
        chw[..batch.Input.Length].CopyTo(batch.Input);
        session.RunWithBinding(runOptions, batch.Binding);
        batch.Output.CopyTo(probabilities);
    }

    void CheckCount(int count)
    {
        if (count < 1 || count > MaxBatch) throw new ArgumentOutOfRangeException(nameof(count), count, $"batch size must be 1..{MaxBatch}");
    }

    BatchBinding Batch(int count)
    {
        if (!batchBindings.TryGetValue(count, out var batch))
            batchBindings[count] = batch = new BatchBinding(session, inputName, outputName, count, Spec.InputSize);
        return batch;
    }

    sealed class BatchBinding : IDisposable
    {
        public BatchBinding(InferenceSession session, string inputName, string outputName, int count, int s)
        {
            Input = GC.AllocateArray<float>(count * 3 * s * s, pinned: true);
            Output = GC.AllocateArray<float>(count * s * s, pinned: true);
            inputValue = OrtValue.CreateTensorValueFromMemory(Input, [count, 3, s, s]);
            outputValue = OrtValue.CreateTensorValueFromMemory(Output, [count, 1, s, s]);
            Binding = session.CreateIoBinding();
            Binding.BindInput(inputName, inputValue);
            Binding.BindOutput(outputName, outputValue);
        }

        readonly OrtValue inputValue, outputValue;
        public float[] Input { get; }
        public float[] Output { get; }
        public OrtIoBinding Binding { get; }

        public void Dispose()
        {
            Binding.Dispose();
            inputValue.Dispose();
            outputValue.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var b in batchBindings.Values) b.Dispose();
        binding.Dispose();
        inputValue.Dispose();
        outputValue.Dispose();
        runOptions.Dispose();
        session.Dispose();
    }

    static (string Name, NodeMetadata Meta) CheckImageInput(InferenceSession session, string source)
    {
        if (session.InputMetadata.Count != 1)
            throw new InvalidDataException($"{source}: model has {session.InputMetadata.Count} inputs, expected one image [N,3,S,S] (is it a decoder-only export?).");
        var (name, meta) = session.InputMetadata.First();
        bool ok = meta.IsTensor && meta.Dimensions is [_, 3, var h, var w] && h > 0 && h == w
                  && meta.ElementDataType is TensorElementType.Float or TensorElementType.Float16;
        if (!ok)
            throw new InvalidDataException($"{source}: model input '{name}' is [{Dims(meta)}] {meta.ElementDataType}, expected [N,3,S,S] float.");
        return (name, meta);
    }

    static string Dims(NodeMetadata meta) => string.Join(",", meta.Dimensions.Select((d, i) =>
        d >= 0 ? d.ToString(CultureInfo.InvariantCulture) : meta.SymbolicDimensions.ElementAtOrDefault(i) is { Length: > 0 } sym ? sym : "?"));

    static string FirstLine(string message) => message.ReplaceLineEndings(" ").Trim();
}
