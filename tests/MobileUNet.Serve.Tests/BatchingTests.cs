using System.Net;
using System.Net.Http.Headers;

namespace MobileUNet.Serve.Tests;

/// <summary>Micro-batching, the bounded queue, isolation of bad requests, and graceful shutdown.</summary>
public class BatchingTests
{
    static ByteArrayContent Raw(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        return content;
    }

    static string Metric(string text, string line) =>
        text.Split('\n').FirstOrDefault(l => l.StartsWith(line + " ", StringComparison.Ordinal))?[(line.Length + 1)..]
        ?? throw new Xunit.Sdk.XunitException($"no metric line {line}");

    [Fact]
    public async Task Concurrent_requests_share_one_model_call_and_the_metrics_show_it()
    {
        // A generous wait, and bodies held until all four requests have begun: each is then on its way while the
        // first is queued, so the batch waits for the others (their arrival order cannot split it).
        await using var host = await ServeTestHost.StartAsync(o => o with { MaxBatch = 4, MaxWaitMs = 5000 });
        var jpegs = Enumerable.Range(0, 4).Select(i => TestImages.Jpeg(120 + 10 * i, 90, seed: i)).ToArray();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var posts = jpegs.Select(j => host.Client.PostAsync("/v1/segment", new GatedBody(j, gate))).ToArray();
        await ServeTestHost.Until(() => host.Metrics.InFlight == 4, "four requests begun");
        gate.SetResult();
        var responses = await Task.WhenAll(posts);
        foreach (var response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("4", response.Headers.GetValues("X-Batch-Size").Single());
        }
        var metrics = await host.Client.GetStringAsync("/metrics");
        Assert.Equal("1", Metric(metrics, "mobileunet_batch_size_count"));
        Assert.Equal("0", Metric(metrics, "mobileunet_batch_size_bucket{le=\"2\"}"));
        Assert.Equal("1", Metric(metrics, "mobileunet_batch_size_bucket{le=\"4\"}"));
        Assert.Equal("4", Metric(metrics, "mobileunet_inference_images_total"));

        // Each image of the batch got its own answer: the same photo alone gives the same mask. Alone, a request
        // runs at once: nobody else is on the way, so the 5 s wait does not apply.
        for (int i = 0; i < 4; i++)
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            using var alone = await host.Client.PostAsync("/v1/segment", Raw(jpegs[i]));
            Assert.Equal("1", alone.Headers.GetValues("X-Batch-Size").Single());
            Assert.Equal(await responses[i].Content.ReadAsByteArrayAsync(), await alone.Content.ReadAsByteArrayAsync());
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(4), $"a lone request waited {started.Elapsed.TotalSeconds:0.0} s for company");
        }
    }

    [Fact]
    public async Task A_full_queue_answers_503_with_retry_after_and_the_admitted_requests_finish()
    {
        await using var host = await ServeTestHost.StartAsync(o => o with { MaxBatch = 8, MaxWaitMs = 1500, MaxQueue = 2 });
        // A request whose body is held keeps the batch open (it is on its way), so the next two stay queued.
        var holder = new GatedBody(TestImages.Jpeg(64, 64, 9));
        var held = host.Client.PostAsync("/v1/segment", holder);
        await ServeTestHost.Until(() => host.Metrics.InFlight == 1, "the held request begun");
        var admitted = Enumerable.Range(0, 2).Select(i => host.Client.PostAsync("/v1/segment", Raw(TestImages.Jpeg(64, 64, i)))).ToArray();
        await ServeTestHost.Until(() => host.Metrics.ToPrometheusText().Contains("mobileunet_queue_depth 2\n"), "two requests queued");

        using var refused = await host.Client.PostAsync("/v1/segment", Raw(TestImages.Jpeg(64, 64)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Contains("queue is full", await refused.Content.ReadAsStringAsync());

        holder.Open();
        foreach (var response in await Task.WhenAll(admitted))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // The held request meets the same full queue unless the batch ran first (a slow machine): 503 or 200.
        using var heldResponse = await held;
        Assert.Contains(heldResponse.StatusCode, new[] { HttpStatusCode.ServiceUnavailable, HttpStatusCode.OK });
        bool heldServed = heldResponse.StatusCode == HttpStatusCode.OK;
        Assert.Equal(heldServed ? 1 : 2, host.Metrics.Requests(Routes.Segment, 503));
        Assert.Equal(heldServed ? 3 : 2, host.Metrics.Requests(Routes.Segment, 200));
    }

    [Fact]
    public async Task Bad_requests_mixed_into_a_batch_never_hurt_the_good_ones()
    {
        await using var host = await ServeTestHost.StartAsync(o => o with { MaxBatch = 8, MaxWaitMs = 300 });
        var jpeg = TestImages.Jpeg(100, 80);
        var good = Enumerable.Range(0, 4).Select(_ => host.Client.PostAsync("/v1/segment", Raw(jpeg))).ToList();
        var bomb = host.Client.PostAsync("/v1/segment", Raw(TestImages.BombPng(65536, 16384)));
        var garbage = host.Client.PostAsync("/v1/segment", Raw("GIF8 but not really"u8.ToArray()));
        var text = host.Client.PostAsync("/v1/segment", Raw("plain words"u8.ToArray()));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await bomb).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await garbage).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await text).StatusCode);
        var answers = new List<byte[]>();
        foreach (var response in await Task.WhenAll(good))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            answers.Add(await response.Content.ReadAsByteArrayAsync());
        }
        Assert.All(answers, a => Assert.Equal(answers[0], a));
    }

    [Fact]
    public async Task On_shutdown_in_flight_requests_finish_and_new_ones_get_503()
    {
        await using var host = await ServeTestHost.StartAsync(o => o with { MaxBatch = 8, MaxWaitMs = 1500 });
        // A held body keeps the batch open, so the request after it stays queued while the host stops.
        var holder = new GatedBody(TestImages.Jpeg(64, 64, 9));
        var held = host.Client.PostAsync("/v1/segment", holder);
        await ServeTestHost.Until(() => host.Metrics.InFlight == 1, "the held request begun");
        var inFlight = host.Client.PostAsync("/v1/segment", Raw(TestImages.Jpeg(64, 64)));
        await ServeTestHost.Until(() => host.Metrics.ToPrometheusText().Contains("mobileunet_queue_depth 1\n"), "one request queued");

        var stopping = host.StopAsync(); // what SIGTERM does: the host holds its stop while requests are in flight
        // (the host fires ApplicationStopping only after the drain; /healthz says when the drain began)
        await ServeTestHost.Until(async () => (await host.Client.GetAsync("/healthz")).StatusCode == HttpStatusCode.ServiceUnavailable, "the drain began");
        Assert.False(stopping.IsCompleted);
        using var late = await host.Client.PostAsync("/v1/segment", Raw(TestImages.Jpeg(64, 64)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, late.StatusCode);
        Assert.NotNull(late.Headers.RetryAfter);
        using var health = await host.Client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);

        holder.Open(); // the held request was in flight before the drain: it finishes too
        using var finished = await inFlight;
        Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
        Assert.Equal("image/png", finished.Content.Headers.ContentType?.MediaType);
        using var heldResponse = await held;
        Assert.Equal(HttpStatusCode.OK, heldResponse.StatusCode);
        await stopping.WaitAsync(TimeSpan.FromSeconds(20)); // and once they are done, the host stops
    }
}
