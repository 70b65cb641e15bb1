using MobileUNet.Data;
using MobileUNet.Inference;

namespace MobileUNet.Serve;

/// <summary>
/// Everything `mobileunet serve` is configured with, validated once. Defaults suit one person on localhost;
/// the limits bound what one untrusted request can cost (body bytes, decoded pixels, time, queue places).
/// </summary>
public sealed record ServeOptions
{
    public required ModelSource Model { get; init; }
    public string Host { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 8080;

    /// <summary>Most images run in one model call.</summary>
    public int MaxBatch { get; init; } = 8;

    /// <summary>How long the first request of a batch waits for company; 0 runs whatever has arrived at once.</summary>
    public int MaxWaitMs { get; init; } = 2;

    /// <summary>Requests admitted and waiting for the model; one more gets 503 with Retry-After.</summary>
    public int MaxQueue { get; init; } = 64;

    /// <summary>When set, /v1/* requests need it (header <c>X-API-Key</c> or <c>Authorization: Bearer</c>).</summary>
    public string? ApiKey { get; init; }

    /// <summary>Origins allowed to call the API from a browser page of another origin; none by default.</summary>
    public IReadOnlyList<string> CorsOrigins { get; init; } = [];

    public long MaxBodyBytes { get; init; } = 20L * 1024 * 1024;

    /// <summary>Pixel limit read from the image header before decoding (a 12 MP phone photo passes).</summary>
    public long MaxPixels { get; init; } = 40_000_000;

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where bench runs posted by the /bench page are saved, as <c>DEVICE/bench.json</c>.</summary>
    public string BenchFolder { get; init; } = DefaultBenchFolder;

    public const string DefaultBenchFolder = "runs/bench";

    /// <summary>ONNX Runtime intra-op threads; 0 = one per core. Spinning is always off: request threads decode
    /// and encode images on the same cores (DESIGN.md section 3).</summary>
    public int Threads { get; init; }

    /// <summary>Foreground when probability &gt;= this; null: the threshold the model records.</summary>
    public float? Threshold { get; init; }

    /// <summary>ONNX Runtime execution provider (see <see cref="RuntimeOptions.ExecutionProvider"/>).</summary>
    public string ExecutionProvider { get; init; } = RuntimeOptions.DefaultExecutionProvider;

    /// <summary>The session settings these options ask for: spinning off, always.</summary>
    public RuntimeOptions Runtime => new() { Threads = Threads, ExecutionProvider = ExecutionProvider, AllowSpinning = false };

    public ImageLimits ImageLimits => new(MaxPixels, MaxBodyBytes);

    public void Validate()
    {
        if (Port is < 0 or > 65535) throw new ArgumentOutOfRangeException(nameof(Port), $"--port must be 0..65535, got {Port}.");
        if (MaxBatch is < 1 or > 256) throw new ArgumentOutOfRangeException(nameof(MaxBatch), $"--max-batch must be 1..256, got {MaxBatch}.");
        if (MaxWaitMs is < 0 or > 10_000) throw new ArgumentOutOfRangeException(nameof(MaxWaitMs), $"--max-wait-ms must be 0..10000, got {MaxWaitMs}.");
        if (MaxQueue < 1) throw new ArgumentOutOfRangeException(nameof(MaxQueue), $"--max-queue must be at least 1, got {MaxQueue}.");
        if (MaxBodyBytes < 1) throw new ArgumentOutOfRangeException(nameof(MaxBodyBytes), $"--max-body must be at least 1 byte, got {MaxBodyBytes}.");
        if (MaxPixels is < 1 or > ImageLimits.HardMaxPixels)
            throw new ArgumentOutOfRangeException(nameof(MaxPixels), $"--max-pixels must be 1..{ImageLimits.HardMaxPixels}, got {MaxPixels}.");
        if (RequestTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RequestTimeout), "--timeout must be positive.");
        if (string.IsNullOrWhiteSpace(BenchFolder)) throw new ArgumentException("--bench-dir must name a folder.", nameof(BenchFolder));
        if (Threads < 0) throw new ArgumentOutOfRangeException(nameof(Threads), "--threads must be 0 (automatic) or more.");
        if (RuntimeOptions.ExecutionProviderError(ExecutionProvider) is { } ep) throw new ArgumentException(ep, nameof(ExecutionProvider));
        if (ApiKey is { Length: 0 }) throw new ArgumentException("--api-key must not be empty.", nameof(ApiKey));
        foreach (var origin in CorsOrigins)
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/")
                throw new ArgumentException($"--cors: '{origin}' is not an origin like https://example.org (scheme, host, optional port).", nameof(CorsOrigins));
    }
}
