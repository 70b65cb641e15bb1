namespace MobileUNet.Serve;

/// <summary>The service's paths, named once (the metrics label requests by them).</summary>
public static class Routes
{
    public const string Segment = "/v1/segment";
    public const string Model = "/v1/model.onnx";
    public const string ModelInfo = "/v1/model";
    public const string Health = "/healthz";
    public const string Metrics = "/metrics";
    public const string OpenApi = "/openapi.json";
    public const string Home = "/";
    public const string Camera = "/camera";
    public const string BenchPage = "/bench";
    public const string BenchPlan = "/v1/bench/plan";
    public const string BenchExport = "/v1/bench/export.onnx";
    public const string Bench = "/v1/bench";

    static readonly HashSet<string> Known = [Segment, Model, ModelInfo, Health, Metrics, OpenApi, Home, Camera, BenchPage, BenchPlan, BenchExport, Bench];

    /// <summary>A bounded label: a known route, static assets as one, everything else as "other".</summary>
    public static string Label(string? path) =>
        path is null ? "other" : Known.Contains(path) ? path : path.StartsWith("/vendor/", StringComparison.Ordinal) || path.StartsWith("/assets/", StringComparison.Ordinal) ? "static" : "other";
}
