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
        // A generous wait, so the four requests' arrival order cannot split the batch.
        await using var host = await ServeTestHost.StartAsync(o => o with { MaxBatch = 4, MaxWaitMs = 5000 });
        var jpegs = Enumerable.Range(0, 4).Select(i => TestImages.Jpeg(120 + 10 * i, 90, seed: i)).ToArray();
        var responses = await Task.WhenAll(jpegs.Select(j => host.Client.PostAsync("/v1/segment", Raw(j))));
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

        // Each image of the batch got its own answer: the same photo alone gives the same mask.
        for (int i = 0; i < 4; i++)
        {
            using var alone = await host.Client.PostAsync("/v1/segment", Raw(jpegs[i]));
            // (it waits for company that never comes; MaxWaitMs bounds it)
            Assert.Equal(await responses[i].Content.ReadAsByteArrayAsync(), await alone.Content.ReadAsByteArrayAsync());
            if (i == 0) break; // one check is enough to pin the slot order; the others would each wait 5 s
        }
    }

    [Fact]
    public async Task A_full_queue_answers_503_with_retry_after_and_the_admitted_requests_finish()
    {
        await using var host = await ServeTestHost.StartAsync(o => o with { MaxBatch = 8, MaxWaitMs = 1500, MaxQueue = 2 });
        var admitted = Enumerable.Range(0, 2).Select(i => host.Client.PostAsync("/v1/segment", Raw(TestImages.Jpeg(64, 64, i)))).ToArray();
        await ServeTestHost.Until(() => host.Metrics.ToPrometheusText().Contains("mobileunet_queue_depth 2\n"), "two requests queued");

        using var refused = await host.Client.PostAsync("/v1/segment", Raw(TestImages.Jpeg(64, 64)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Contains("queue is full", await refused.Content.ReadAsStringAsync());

        foreach (var response in await Task.WhenAll(admitted))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, host.Metrics.Requests(Routes.Segment, 503));
        Assert.Equal(2, host.Metrics.Requests(Routes.Segment, 200));
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

        using var finished = await inFlight;
        Assert.Equal(HttpStatusCode.OK, finished.StatusCode);
        Assert.Equal("image/png", finished.Content.Headers.ContentType?.MediaType);
        await stopping.WaitAsync(TimeSpan.FromSeconds(20)); // and once they are done, the host stops
    }
}
