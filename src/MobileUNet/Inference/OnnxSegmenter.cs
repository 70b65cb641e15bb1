using System.Globalization;
using MobileUNet.Export;
using MobileUNet.Model;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MobileUNet.Inference;

/// <summary>How an ONNX Runtime session is tuned. Defaults favour one session running alone.</summary>
public sealed record OnnxSegmenterOptions
{
    /// <summary>Intra-op threads; 0 lets ONNX Runtime use one per physical core.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>
    /// Whether idle intra-op threads spin waiting for work. Spinning lowers one session's latency but steals the
    /// cores of every other live session (DESIGN.md section 3): turn it off when several sessions share a process.
    /// </summary>
    public bool AllowSpinning { get; init; } = true;

    /// <summary>Where ONNX Runtime writes the graph it actually runs (after fusions), to see what was fused.</summary>
    public string? OptimizedModelPath { get; init; }

    internal SessionOptions Create()
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = IntraOpThreads,
            InterOpNumThreads = 1,
            EnableMemoryPattern = true,
            EnableCpuMemArena = true,
            // ONNX Runtime's own (coloured, multi-line) warnings and errors would bury our one-line error.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", AllowSpinning ? "1" : "0");
        // Weight pre-packing (MLAS' blocked layouts computed once at load) is ONNX Runtime's default; say so.
        options.AddSessionConfigEntry("session.disable_prepacking", "0");
        if (OptimizedModelPath is not null) options.OptimizedModelFilePath = OptimizedModelPath;
        return options;
    }
}

/// <summary>
/// Runs an exported MobileUNet with ONNX Runtime. The input and output tensors are created once over pinned
/// managed buffers and bound with an <see cref="OrtIoBinding"/>, so <see cref="Run"/> copies the caller's pixels
/// in, runs, and copies probabilities out without allocating.
/// </summary>
public sealed class OnnxSegmenter : ISegmenter
{
    readonly InferenceSession session;
    readonly RunOptions runOptions = new();
    readonly OrtIoBinding binding;
    readonly OrtValue inputValue, outputValue;
    readonly float[]? input, output;
    readonly Float16[]? inputHalf, outputHalf;

    OnnxSegmenter(InferenceSession session, string source)
    {
        this.session = session;
        Source = source;
        try
        {
            Metadata = OnnxMetadata.FromProperties(session.ModelMetadata.CustomMetadataMap, source);
            var (inputName, inputMeta) = CheckImageInput(session, source);
            var (outputName, outputMeta) = session.OutputMetadata.First();
            int s = Metadata.Spec.InputSize;
            if (inputMeta.Dimensions[2] != s)
                throw new InvalidDataException($"{source}: model input is {inputMeta.Dimensions[2]} pixels but its metadata says {s}.");
            if (outputMeta.Dimensions is not [_, 1, var oh, var ow] || oh != s || ow != s)
                throw new InvalidDataException($"{source}: model output '{outputName}' is [{Dims(outputMeta)}], expected [N,1,{s},{s}].");

            long[] inShape = [1, 3, s, s], outShape = [1, 1, s, s];
            if (inputMeta.ElementDataType == TensorElementType.Float16)
            {
                inputHalf = GC.AllocateArray<Float16>(3 * s * s, pinned: true);
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
    public static OnnxSegmenter Open(string path, OnnxSegmenterOptions? options = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such model file.", path);
        OnnxWeights.RequireFinite(File.ReadAllBytes(path), path);
        return Create(() =>
        {
            using var so = (options ?? new()).Create();
            return new InferenceSession(path, so);
        }, path);
    }

    /// <summary>Opens a model held in memory (e.g. just exported); <paramref name="source"/> names it in errors.</summary>
    public static OnnxSegmenter FromBytes(byte[] model, string source, OnnxSegmenterOptions? options = null)
    {
        OnnxWeights.RequireFinite(model, source);
        return Create(() =>
        {
            using var so = (options ?? new()).Create();
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
    public Normalization Normalization => Metadata.Normalization;

    public void Run(ReadOnlySpan<float> chw, Span<float> probabilities)
    {
        if (input is not null) chw[..input.Length].CopyTo(input);
        else
        {
            var half = inputHalf!;
            for (int i = 0; i < half.Length; i++) half[i] = (Float16)chw[i];
        }
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

    public void Dispose()
    {
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
