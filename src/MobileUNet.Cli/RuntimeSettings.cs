using System.ComponentModel;
using MobileUNet.Inference;
using MobileUNet.Platform;
using Spectre.Console;
using Spectre.Console.Cli;

namespace MobileUNet.Cli;

/// <summary>
/// How a command runs its model: execution provider, threads and threshold, the same options with the same
/// defaults on predict, video and serve (eval, whose base is <see cref="DataSettings"/>, takes them through
/// <see cref="Help"/> and <see cref="Check"/>).
/// </summary>
public class RuntimeSettings : CommandSettings
{
    /// <summary>The option texts, one copy for every command that runs a model.</summary>
    public static class Help
    {
        public const string Threads = "Inference threads (ONNX Runtime intra-op, or torch). 0: one per core. Default: 1 where decoding and encoding share the cores (predict, video), else one per core.";
        public const string ExecutionProvider = "ONNX Runtime execution provider: cpu, cuda, coreml, nnapi or xnnpack (those this build has).";
        public const string Threshold = "Foreground when probability >= T. Default: the threshold the model records, else 0.5.";
        public const string Backend = "Inference runtime: Onnx (ONNX Runtime, the deploy path; a .munet is exported in memory) or Torch (TorchSharp eager).";
    }

    [CommandOption("--threads <N>")]
    [Description(Help.Threads)]
    public int? Threads { get; init; }

    [CommandOption("--ep <PROVIDER>")]
    [Description(Help.ExecutionProvider)]
    [DefaultValue(RuntimeOptions.DefaultExecutionProvider)]
    public string ExecutionProvider { get; init; } = RuntimeOptions.DefaultExecutionProvider;

    [CommandOption("--threshold <T>")]
    [Description(Help.Threshold)]
    public float? Threshold { get; init; }

    public override ValidationResult Validate() => Check(Threads, ExecutionProvider, Threshold);

    /// <summary>The checks every model-running command makes of these options.</summary>
    public static ValidationResult Check(int? threads, string executionProvider, float? threshold, Backend backend = Backend.Onnx) =>
        OptionChecks.Result(
            backend == Backend.Torch && !executionProvider.Equals(RuntimeOptions.DefaultExecutionProvider, StringComparison.OrdinalIgnoreCase)
                ? $"--ep {executionProvider}: the torch backend runs on {RuntimeOptions.DefaultExecutionProvider} only." : null,
            threads == 0 ? null : Limits.ThreadsError(threads, "--threads"),
            threshold is { } t ? Limits.ThresholdError(t, "--threshold") : null,
            RuntimeOptions.KnownProviders.Contains(executionProvider, StringComparer.OrdinalIgnoreCase) ? null
                : $"--ep {executionProvider}: unknown execution provider (one of {string.Join(", ", RuntimeOptions.KnownProviders)}).");

    /// <summary>
    /// The runtime these options ask for. A <paramref name="pipelined"/> command shares the cores with decode and
    /// encode stages: one inference thread by default, and idle threads sleep rather than spin (DESIGN.md section 3).
    /// </summary>
    public RuntimeOptions Runtime(Backend backend, bool pipelined) => Options(backend, Threads, ExecutionProvider, pipelined);

    public static RuntimeOptions Options(Backend backend, int? threads, string executionProvider, bool pipelined) => new()
    {
        Backend = backend,
        ExecutionProvider = executionProvider.ToLowerInvariant(),
        Threads = threads ?? (pipelined ? 1 : 0),
        AllowSpinning = !pipelined,
    };
}

/// <summary><see cref="RuntimeSettings"/> plus the choice of backend, for commands that can run a model on torch too.</summary>
public class BackendSettings : RuntimeSettings
{
    [CommandOption("-b|--backend <BACKEND>")]
    [Description(Help.Backend)]
    [DefaultValue(Backend.Onnx)]
    public Backend Backend { get; init; } = Backend.Onnx;

    public RuntimeOptions Runtime(bool pipelined) => Runtime(Backend, pipelined);

    public override ValidationResult Validate() => Check(Threads, ExecutionProvider, Threshold, Backend);
}
