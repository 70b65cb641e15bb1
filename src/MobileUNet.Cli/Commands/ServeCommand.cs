using System.ComponentModel;
using MobileUNet.Data;
using MobileUNet.Inference;
using MobileUNet.Model;
using MobileUNet.Serve;
using Spectre.Console;
using Microsoft.Extensions.Hosting;
using Spectre.Console.Cli;

namespace MobileUNet.Cli.Commands;

public sealed class ServeCommand : Command<ServeCommand.Settings>
{
    public sealed class Settings : RuntimeSettings
    {
        [CommandOption("-m|--model <NAME|PATH>")]
        [Description("A shipped model (person, person-160, hair), a .munet weights file (exported in memory) or an .onnx export.")]
        [DefaultValue(ModelChoice.Default)]
        public string Model { get; init; } = ModelChoice.Default;

        [CommandOption("--untrained")]
        [Description("Serve an untrained model of --alpha and --size instead (speed work, load tests).")]
        public bool Untrained { get; init; }

        [CommandOption("--alpha <A>")]
        [DefaultValue(0.5)]
        public double Alpha { get; init; } = 0.5;

        [CommandOption("--size <S>")]
        [DefaultValue(128)]
        public int Size { get; init; } = 128;

        [CommandOption("--host <ADDRESS>")]
        [Description("Address to listen on. 127.0.0.1 keeps the service on this machine; see the README before binding to the LAN.")]
        [DefaultValue("127.0.0.1")]
        public string Host { get; init; } = "127.0.0.1";

        [CommandOption("--port <PORT>")]
        [DefaultValue(8080)]
        public int Port { get; init; } = 8080;

        [CommandOption("--max-batch <N>")]
        [Description("Most concurrent requests run in one model call.")]
        [DefaultValue(8)]
        public int MaxBatch { get; init; } = 8;

        [CommandOption("--max-wait-ms <MS>")]
        [Description("How long a batch's first request waits for others to join it.")]
        [DefaultValue(2)]
        public int MaxWaitMs { get; init; } = 2;

        [CommandOption("--max-queue <Q>")]
        [Description("Requests waiting for the model; beyond this, 503 with Retry-After.")]
        [DefaultValue(64)]
        public int MaxQueue { get; init; } = 64;

        [CommandOption("--api-key <KEY>")]
        [Description("Require this key on /v1/* and /metrics (header X-API-Key or Authorization: Bearer). Default: the MOBILEUNET_API_KEY variable, else none.")]
        public string? ApiKey { get; init; }

        [CommandOption("--cors <ORIGINS>")]
        [Description("Comma-separated origins allowed to call the API from their pages (off by default).")]
        public string? Cors { get; init; }

        [CommandOption("--max-body-mb <MB>")]
        [Description("Largest request body; larger gets 413.")]
        [DefaultValue(20)]
        public int MaxBodyMb { get; init; } = 20;

        [CommandOption("--max-pixels <N>")]
        [Description("Largest image, read from its header before decoding; larger gets 413.")]
        [DefaultValue(40_000_000L)]
        public long MaxPixels { get; init; } = 40_000_000;

        [CommandOption("--timeout <SECONDS>")]
        [Description("Every request's time limit (504 past it).")]
        [DefaultValue(30)]
        public int TimeoutSeconds { get; init; } = 30;

        [CommandOption("--bench-dir <DIR>")]
        [Description("Where runs posted by the /bench page are saved, as DEVICE/bench.json (read them with `bench merge`).")]
        [DefaultValue(ServeOptions.DefaultBenchFolder)]
        public string BenchDir { get; init; } = ServeOptions.DefaultBenchFolder;

        public ServeOptions ToOptions() => new()
        {
            Model = Untrained ? new ModelSource.Untrained(new ModelSpec(Alpha, Size)) : ModelSource.Parse(Model),
            Host = Host,
            Port = Port,
            MaxBatch = MaxBatch,
            MaxWaitMs = MaxWaitMs,
            MaxQueue = MaxQueue,
            ApiKey = ApiKey ?? (Environment.GetEnvironmentVariable("MOBILEUNET_API_KEY") is { Length: > 0 } fromEnv ? fromEnv : null),
            CorsOrigins = Cors?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [],
            MaxBodyBytes = MaxBodyMb * 1024L * 1024,
            MaxPixels = MaxPixels,
            RequestTimeout = TimeSpan.FromSeconds(TimeoutSeconds),
            BenchFolder = BenchDir,
            // Serve's sessions never spin (ServeOptions.Runtime): request threads decode and encode on the same cores.
            Threads = Runtime(Backend.Onnx, pipelined: false).Threads,
            ExecutionProvider = ExecutionProvider.ToLowerInvariant(),
            Threshold = Threshold,
        };

        public override ValidationResult Validate()
        {
            if (base.Validate() is { Successful: false } runtime) return runtime;
            if (Host != "localhost" && !System.Net.IPAddress.TryParse(Host, out _))
                return ValidationResult.Error($"--host must be an IP address or localhost, got '{Host}'.");
            if (MaxBodyMb < 1) return ValidationResult.Error("--max-body-mb must be at least 1.");
            if (MaxPixels is < 1 or > ImageLimits.HardMaxPixels) return ValidationResult.Error($"--max-pixels must be 1..{ImageLimits.HardMaxPixels}.");
            if (TimeoutSeconds < 1) return ValidationResult.Error("--timeout must be at least 1 second.");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var options = settings.ToOptions();
        using var app = ServeApp.Build(options);
        // SIGTERM and Ctrl+C stop the host gracefully: new API requests get 503, in-flight ones finish.
        app.StartAsync().GetAwaiter().GetResult();
        bool exposed = options.Host is not ("127.0.0.1" or "localhost" or "::1");
        // The bound address, not the option: --port 0 lets the system choose.
        var url = app.Urls.FirstOrDefault() ?? $"http://{options.Host}:{options.Port}";
        AnsiConsole.MarkupLineInterpolated($"serving {options.Model.Label} on {url}/  (camera: /camera, bench: /bench, API: POST /v1/segment, docs: /openapi.json)");
        if (exposed && options.ApiKey is null)
            AnsiConsole.MarkupLine("[yellow]warning:[/] listening beyond this machine without --api-key: anyone who can reach the port can use the service.");
        app.WaitForShutdownAsync().GetAwaiter().GetResult();
        return 0;
    }
}
