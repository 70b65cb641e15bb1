using System.Globalization;
using MobileUNet.Platform;
using Microsoft.ML.OnnxRuntime;

namespace MobileUNet.Inference;

/// <summary>Which runtime runs a model: ONNX Runtime (the deploy path, fast) or TorchSharp (the training runtime).</summary>
public enum Backend { Onnx, Torch }

/// <summary>
/// How a model is run: backend, execution provider, intra-op threads and spinning. The one place that builds ONNX
/// Runtime <see cref="SessionOptions"/> (the segmenter, the bench, int8 calibration) and that hands a thread count
/// to torch. Defaults favour one session running alone.
/// </summary>
public sealed record RuntimeOptions
{
    /// <summary>The execution provider a run gets when none is named.</summary>
    public const string DefaultExecutionProvider = "cpu";

    /// <summary>The project's execution provider names and ONNX Runtime's names for them.</summary>
    static readonly (string Name, string Ort)[] Providers =
    [
        ("cpu", "CPUExecutionProvider"), ("cuda", "CUDAExecutionProvider"), ("coreml", "CoreMLExecutionProvider"),
        ("nnapi", "NnapiExecutionProvider"), ("xnnpack", "XnnpackExecutionProvider"),
    ];

    public Backend Backend { get; init; } = Backend.Onnx;

    /// <summary>ONNX Runtime execution provider by the project's name (cpu, cuda, coreml, nnapi, xnnpack).</summary>
    public string ExecutionProvider { get; init; } = DefaultExecutionProvider;

    /// <summary>Intra-op threads; 0 leaves the runtime's own default (ONNX Runtime: one per physical core).</summary>
    public int Threads { get; init; }

    /// <summary>
    /// Whether idle intra-op threads spin waiting for work. Spinning lowers one session's latency but steals the
    /// cores of every other live session (DESIGN.md section 3): turn it off when several sessions share a process.
    /// </summary>
    public bool AllowSpinning { get; init; } = true;

    /// <summary>Where ONNX Runtime writes the graph it actually runs (after fusions), to see what was fused.</summary>
    public string? OptimizedModelPath { get; init; }

    /// <summary>Graph optimisations; only int8 calibration turns them off (it must see every unfused activation).</summary>
    public GraphOptimizationLevel GraphOptimization { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;

    /// <summary>Every execution provider name the project knows.</summary>
    public static IReadOnlyList<string> KnownProviders => [.. Providers.Select(p => p.Name)];

    /// <summary>The names of the execution providers this ONNX Runtime build reports, cpu first.</summary>
    public static IReadOnlyList<string> AvailableProviders()
    {
        var ort = OrtEnv.Instance().GetAvailableProviders();
        return [.. Providers.Where(p => ort.Contains(p.Ort)).Select(p => p.Name)];
    }

    /// <summary>Why <paramref name="executionProvider"/> cannot run here (unknown, or missing from this build), or null.</summary>
    public static string? ExecutionProviderError(string executionProvider)
    {
        if (!Providers.Any(p => p.Name.Equals(executionProvider, StringComparison.OrdinalIgnoreCase)))
            return $"{executionProvider}: unknown execution provider (one of {string.Join(", ", Providers.Select(p => p.Name))}).";
        var available = AvailableProviders();
        if (!available.Contains(executionProvider, StringComparer.OrdinalIgnoreCase))
            return $"{executionProvider}: this ONNX Runtime build has no {executionProvider} execution provider (available: {string.Join(", ", available)}).";
        return null;
    }

    /// <summary>The session options for these settings; the caller disposes them.</summary>
    public SessionOptions CreateSessionOptions()
    {
        var options = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimization,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            IntraOpNumThreads = Threads,
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
        try
        {
            switch (ExecutionProvider.ToLowerInvariant())
            {
                case "cpu": break;
                case "cuda": options.AppendExecutionProvider_CUDA(); break;
                case "coreml": options.AppendExecutionProvider_CoreML(); break;
                case "nnapi": options.AppendExecutionProvider_Nnapi(); break;
                case "xnnpack": options.AppendExecutionProvider("XNNPACK", new Dictionary<string, string> { ["intra_op_num_threads"] = Threads.ToString(CultureInfo.InvariantCulture) }); break;
                default: throw new ArgumentException(ExecutionProviderError(ExecutionProvider));
            }
        }
        catch (OnnxRuntimeException e)
        {
            options.Dispose();
            throw new ArgumentException($"execution provider {ExecutionProvider}: ONNX Runtime could not start it ({e.Message.ReplaceLineEndings(" ").Trim()}).");
        }
        catch
        {
            options.Dispose();
            throw;
        }
        return options;
    }
}
