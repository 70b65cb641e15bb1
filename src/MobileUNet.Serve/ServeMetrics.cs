using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace MobileUNet.Serve;

/// <summary>The stages one segment request passes through; their summed seconds say where the time goes.</summary>
public enum Stage { Read, Decode, Preprocess, Queue, Inference, Postprocess }

/// <summary>
/// The service's counters, written as Prometheus text exposition (version 0.0.4) by hand: a handful of
/// counters, gauges and fixed-bucket histograms need no client library. Lock-free updates; a scrape reads a
/// consistent-enough snapshot (each number on its own is exact).
/// </summary>
public sealed class ServeMetrics
{
    static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    readonly ConcurrentDictionary<(string Route, int Status), long> requests = new();
    readonly Histogram latency = new(LatencyBuckets);
    readonly Histogram batchSizes;
    readonly long[] stageTicks = new long[Enum.GetValues<Stage>().Length];
    long queueDepth, inFlight, inferenceImages, inferenceTicks;

    public ServeMetrics(int maxBatch)
    {
        var buckets = new List<double>();
        for (int b = 1; b < maxBatch; b *= 2) buckets.Add(b);
        buckets.Add(maxBatch);
        batchSizes = new Histogram([.. buckets]);
    }

    public void CountRequest(string route, int status, TimeSpan elapsed)
    {
        requests.AddOrUpdate((route, status), 1, (_, n) => n + 1);
        if (route == Routes.Segment) latency.Observe(elapsed.TotalSeconds);
    }

    public void AddStage(Stage stage, TimeSpan elapsed) => Interlocked.Add(ref stageTicks[(int)stage], elapsed.Ticks);

    public void CountBatch(int size, TimeSpan inference)
    {
        batchSizes.Observe(size);
        Interlocked.Add(ref inferenceImages, size);
        Interlocked.Add(ref inferenceTicks, inference.Ticks);
        AddStage(Stage.Inference, inference);
    }

    public void QueueDepthChanged(long depth) => Interlocked.Exchange(ref queueDepth, depth);
    public void EnterRequest() => Interlocked.Increment(ref inFlight);
    public void LeaveRequest() => Interlocked.Decrement(ref inFlight);

    public long Requests(string route, int status) => requests.TryGetValue((route, status), out var n) ? n : 0;
    public long Batches => batchSizes.Count;
    public long InFlight => Interlocked.Read(ref inFlight);
    public long InferenceImages => Interlocked.Read(ref inferenceImages);

    public string ToPrometheusText()
    {
        var text = new StringBuilder();
        Header(text, "mobileunet_requests_total", "counter", "HTTP requests answered, by route and status code.");
        foreach (var ((route, status), n) in requests.OrderBy(p => p.Key.Route, StringComparer.Ordinal).ThenBy(p => p.Key.Status))
            Line(text, "mobileunet_requests_total", $"route=\"{route}\",status=\"{status}\"", n);
        latency.Write(text, "mobileunet_request_duration_seconds", $"Latency of {Routes.Segment} requests, arrival to response written.");
        batchSizes.Write(text, "mobileunet_batch_size", "Images per model call (micro-batching: concurrent requests share one call).");
        Header(text, "mobileunet_inference_images_total", "counter", "Images run through the model.");
        Line(text, "mobileunet_inference_images_total", "", Interlocked.Read(ref inferenceImages));
        Header(text, "mobileunet_stage_seconds_total", "counter", "Seconds spent per request stage, summed over requests (inference: per model call).");
        foreach (var stage in Enum.GetValues<Stage>())
            Line(text, "mobileunet_stage_seconds_total", $"stage=\"{stage.ToString().ToLowerInvariant()}\"", TimeSpan.FromTicks(Interlocked.Read(ref stageTicks[(int)stage])).TotalSeconds);
        Header(text, "mobileunet_queue_depth", "gauge", "Requests admitted and waiting for the model.");
        Line(text, "mobileunet_queue_depth", "", Interlocked.Read(ref queueDepth));
        Header(text, "mobileunet_in_flight_requests", "gauge", "Segment requests being handled now.");
        Line(text, "mobileunet_in_flight_requests", "", Interlocked.Read(ref inFlight));
        return text.ToString();
    }

    static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    static void Line(StringBuilder text, string name, string labels, double value)
    {
        text.Append(name);
        if (labels.Length > 0) text.Append('{').Append(labels).Append('}');
        text.Append(' ').Append(Format(value)).Append('\n');
    }

    static string Format(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>A cumulative fixed-bucket histogram (Prometheus <c>_bucket{le}</c>, <c>_sum</c>, <c>_count</c>).</summary>
    sealed class Histogram(double[] bounds)
    {
        readonly long[] counts = new long[bounds.Length + 1];
        long sumMicros;

        public long Count
        {
            get
            {
                long n = 0;
                for (int i = 0; i < counts.Length; i++) n += Interlocked.Read(ref counts[i]);
                return n;
            }
        }

        public void Observe(double value)
        {
            int i = 0;
            while (i < bounds.Length && value > bounds[i]) i++;
            Interlocked.Increment(ref counts[i]);
            Interlocked.Add(ref sumMicros, (long)Math.Round(value * 1e6));
        }

        public void Write(StringBuilder text, string name, string help)
        {
            Header(text, name, "histogram", help);
            long cumulative = 0;
            for (int i = 0; i <= bounds.Length; i++)
            {
                cumulative += Interlocked.Read(ref counts[i]);
                var le = i < bounds.Length ? Format(bounds[i]) : "+Inf";
                Line(text, name + "_bucket", $"le=\"{le}\"", cumulative);
            }
            Line(text, name + "_sum", "", Interlocked.Read(ref sumMicros) / 1e6);
            Line(text, name + "_count", "", cumulative);
        }
    }
}
