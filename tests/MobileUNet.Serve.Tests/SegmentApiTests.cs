using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using MobileUNet.Data;
using MobileUNet.Inference;

namespace MobileUNet.Serve.Tests;

/// <summary>Every endpoint, every answer format, every error status, over the real service in-process.</summary>
public class SegmentApiTests
{
    static ByteArrayContent Raw(byte[] bytes, string type = "image/jpeg")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    static MultipartFormDataContent Form(byte[] bytes, string field = "image")
    {
        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
        form.Add(file, field, "photo.jpg");
        return form;
    }

    [Fact]
    public async Task Mask_is_a_0_255_png_at_the_photos_size_equal_to_the_librarys_own_segmentation()
    {
        await using var host = await ServeTestHost.StartAsync();
        var jpeg = TestImages.Jpeg(300, 200);
        using var response = await host.Client.PostAsync("/v1/segment?output=mask", Raw(jpeg));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        var mask = TestImages.DecodePng(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal((300, 200), (mask.Width, mask.Height));

        // The batched service path and the one-image library path give the same mask from the same pixels: for a
        // mask, serve decodes a JPEG reduced to no less than twice the model's input a side.
        using var segmenter = OnnxSegmenter.Open(ServeTestHost.ModelPath);
        int s = segmenter.Spec.InputSize;
        var reduced = ImageFile.DecodeAtLeast(jpeg, "jpeg", 2 * s);
        Assert.True(reduced.Pixels.Width < 300, "this photo is large enough to be decoded reduced");
        var small = new float[s * s];
        segmenter.Segment(reduced.Pixels.Resize(s, s).Pixels, 4, small);
        var expected = ImageSegmentation.MaskBytes(small, s, 300, 200, segmenter.Metadata.Threshold);
        int differ = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            byte v = mask.Pixels[i * 4];
            Assert.True(v is 0 or 255, $"mask value {v} is not 0/255");
            if (v != expected[i]) differ++;
        }
        Assert.True(differ <= expected.Length / 1000, $"{differ} of {expected.Length} pixels differ from the library's mask");
    }

    [Fact]
    public async Task Cutout_from_multipart_is_rgba_with_the_mask_as_alpha()
    {
        await using var host = await ServeTestHost.StartAsync();
        var jpeg = TestImages.Jpeg(160, 120);
        using var maskResponse = await host.Client.PostAsync("/v1/segment", Raw(jpeg));
        var mask = TestImages.DecodePng(await maskResponse.Content.ReadAsByteArrayAsync());
        using var response = await host.Client.PostAsync("/v1/segment?output=cutout", Form(jpeg));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var cutout = TestImages.DecodePng(await response.Content.ReadAsByteArrayAsync());
        var photo = ImageFile.Decode(jpeg, "jpeg");
        Assert.Equal((160, 120), (cutout.Width, cutout.Height));
        for (int i = 0; i < 160 * 120; i++)
        {
            Assert.Equal(mask.Pixels[i * 4], cutout.Pixels[i * 4 + 3]);
            if (cutout.Pixels[i * 4 + 3] == 255) Assert.Equal(photo.Pixels[i * 4], cutout.Pixels[i * 4]);
        }
    }

    [Fact]
    public async Task Json_gives_foreground_fraction_bbox_model_and_timings_per_stage()
    {
        await using var host = await ServeTestHost.StartAsync();
        var jpeg = TestImages.Jpeg(200, 100);
        using var maskResponse = await host.Client.PostAsync("/v1/segment", Raw(jpeg));
        var mask = TestImages.DecodePng(await maskResponse.Content.ReadAsByteArrayAsync());
        using var response = await host.Client.PostAsync("/v1/segment?output=json", Raw(jpeg));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        int foreground = Enumerable.Range(0, 200 * 100).Count(i => mask.Pixels[i * 4] == 255);
        Assert.Equal(foreground / 20000.0, json["foreground_fraction"]!.GetValue<double>(), 5);
        Assert.Equal(200, json["width"]!.GetValue<int>());
        Assert.Equal(ServeTestHost.Spec.Label, json["model"]!["spec"]!.GetValue<string>());
        if (foreground > 0) Assert.True(json["bbox"]!["width"]!.GetValue<int>() > 0);
        foreach (var stage in new[] { "read", "decode", "preprocess", "queue", "inference", "postprocess" })
            Assert.True(json["timings_ms"]![stage]!.GetValue<double>() >= 0, stage);
        Assert.Equal(1, json["batch_size"]!.GetValue<int>());
    }

    [Fact]
    public async Task Health_metrics_openapi_and_model_endpoints_answer()
    {
        await using var host = await ServeTestHost.StartAsync();
        var health = JsonNode.Parse(await host.Client.GetStringAsync("/healthz"))!;
        Assert.Equal("ok", health["status"]!.GetValue<string>());

        using var _ = await host.Client.PostAsync("/v1/segment", Raw(TestImages.Jpeg(64, 48)));
        using var metricsResponse = await host.Client.GetAsync("/metrics");
        Assert.StartsWith("text/plain", metricsResponse.Content.Headers.ContentType!.ToString());
        var metrics = await metricsResponse.Content.ReadAsStringAsync();
        Assert.Contains("mobileunet_requests_total{route=\"/v1/segment\",status=\"200\"} 1\n", metrics);
        Assert.Contains("# TYPE mobileunet_request_duration_seconds histogram", metrics);
        Assert.Contains("mobileunet_request_duration_seconds_count 1\n", metrics);
        Assert.Contains("mobileunet_batch_size_bucket{le=\"1\"} 1\n", metrics);
        Assert.Contains("mobileunet_queue_depth 0\n", metrics);
        Assert.Contains("mobileunet_stage_seconds_total{stage=\"inference\"}", metrics);

        var openapi = JsonNode.Parse(await host.Client.GetStringAsync("/openapi.json"))!;
        Assert.Equal("3.0.3", openapi["openapi"]!.GetValue<string>());
        foreach (var status in new[] { "200", "400", "401", "413", "415", "422", "503", "504" })
            Assert.NotNull(openapi["paths"]!["/v1/segment"]!["post"]!["responses"]![status]);

        Assert.Equal(await File.ReadAllBytesAsync(ServeTestHost.ModelPath), await host.Client.GetByteArrayAsync("/v1/model.onnx"));
        var info = JsonNode.Parse(await host.Client.GetStringAsync("/v1/model"))!;
        Assert.Equal(64, info["input_size"]!.GetValue<int>());
    }

    [Theory]
    [InlineData("/v1/segment?output=thumbnail", "output must be mask, cutout or json")]
    [InlineData("/v1/segment", "empty body")]
    public async Task Bad_requests_get_400_with_a_one_line_reason(string url, string reason)
    {
        await using var host = await ServeTestHost.StartAsync();
        using var response = await host.Client.PostAsync(url, Raw(url.Contains("thumbnail") ? TestImages.Jpeg(32, 32) : []));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Contains(reason, text);
        Assert.Single(text.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Raw_bytes_labelled_as_a_urlencoded_form_are_still_an_image()
    {
        // curl --data-binary @photo.jpg sends this content type.
        await using var host = await ServeTestHost.StartAsync();
        using var response = await host.Client.PostAsync("/v1/segment", Raw(TestImages.Jpeg(64, 48), "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Multipart_without_an_image_field_is_400()
    {
        await using var host = await ServeTestHost.StartAsync();
        using var response = await host.Client.PostAsync("/v1/segment", Form(TestImages.Jpeg(32, 32), field: "photo"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'image'", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Body_over_the_limit_is_413_raw_or_multipart()
    {
        await using var host = await ServeTestHost.StartAsync(o => o with { MaxBodyBytes = 4096 });
        var big = TestImages.Jpeg(400, 400);
        Assert.True(big.Length > 4096);
        using var raw = await host.Client.PostAsync("/v1/segment", Raw(big));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, raw.StatusCode);
        using var form = await host.Client.PostAsync("/v1/segment", Form(big));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, form.StatusCode);
        using var small = await host.Client.PostAsync("/v1/segment", Raw(TestImages.Jpeg(32, 32)));
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
    }

    [Fact]
    public async Task A_decompression_bomb_is_413_from_its_header_before_decoding()
    {
        await using var host = await ServeTestHost.StartAsync();
        var bomb = TestImages.BombPng(65536, 16384);
        Assert.True(bomb.Length < 64 * 1024);
        long before = GC.GetTotalAllocatedBytes(precise: true);
        using var response = await host.Client.PostAsync("/v1/segment", Raw(bomb, "image/png"));
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("65536x16384", await response.Content.ReadAsStringAsync());
        Assert.True(allocated < 64L * 1024 * 1024, $"allocated {allocated:N0} bytes answering a bomb");
    }

    [Fact]
    public async Task Not_an_image_is_415_and_a_broken_image_is_422()
    {
        await using var host = await ServeTestHost.StartAsync();
        using var text = await host.Client.PostAsync("/v1/segment", Raw("hello, not a picture"u8.ToArray(), "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        Assert.Contains("not an image format", await text.Content.ReadAsStringAsync());

        var jpeg = TestImages.Jpeg(200, 200);
        using var truncated = await host.Client.PostAsync("/v1/segment", Raw(jpeg[..(jpeg.Length / 3)]));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, truncated.StatusCode);
        var reason = await truncated.Content.ReadAsStringAsync();
        Assert.Single(reason.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task With_an_api_key_requests_without_it_get_401()
    {
        await using var host = await ServeTestHost.StartAsync(o => o with { ApiKey = "s3cret" });
        var jpeg = TestImages.Jpeg(32, 32);
        using var none = await host.Client.PostAsync("/v1/segment", Raw(jpeg));
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        using var wrong = new HttpRequestMessage(HttpMethod.Post, "/v1/segment") { Content = Raw(jpeg) };
        wrong.Headers.Add("X-API-Key", "s3cres");
        Assert.Equal(HttpStatusCode.Unauthorized, (await host.Client.SendAsync(wrong)).StatusCode);
        using var metrics = await host.Client.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, metrics.StatusCode);

        using var header = new HttpRequestMessage(HttpMethod.Post, "/v1/segment") { Content = Raw(jpeg) };
        header.Headers.Add("X-API-Key", "s3cret");
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(header)).StatusCode);
        using var bearer = new HttpRequestMessage(HttpMethod.Post, "/v1/segment") { Content = Raw(jpeg) };
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "s3cret");
        Assert.Equal(HttpStatusCode.OK, (await host.Client.SendAsync(bearer)).StatusCode);
        // Health stays open for load balancers.
        Assert.Equal(HttpStatusCode.OK, (await host.Client.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task Cors_is_off_by_default_and_allows_only_the_listed_origins()
    {
        await using (var closed = await ServeTestHost.StartAsync())
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
            request.Headers.Add("Origin", "https://example.org");
            var response = await closed.Client.SendAsync(request);
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        }
        await using var open = await ServeTestHost.StartAsync(o => o with { CorsOrigins = ["https://example.org"] });
        foreach (var (origin, allowed) in new[] { ("https://example.org", true), ("https://evil.example", false) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/segment") { Content = Raw(TestImages.Jpeg(32, 32)) };
            request.Headers.Add("Origin", origin);
            var response = await open.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(allowed, response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) && values.Contains(origin));
        }
    }

    [Fact]
    public async Task A_request_past_its_timeout_gets_504()
    {
        // The batch's first request waits up to 5 s for company (a request on its way whose body is held), longer
        // than its 300 ms limit.
        await using var host = await ServeTestHost.StartAsync(o => o with { MaxWaitMs = 5000, RequestTimeout = TimeSpan.FromMilliseconds(300) });
        var holder = new GatedBody(TestImages.Jpeg(32, 32, 9));
        var held = host.Client.PostAsync("/v1/segment", holder);
        await ServeTestHost.Until(() => host.Metrics.InFlight == 1, "the held request begun");
        using var response = await host.Client.PostAsync("/v1/segment", Raw(TestImages.Jpeg(32, 32)));
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Contains("timed out", await response.Content.ReadAsStringAsync());
        holder.Open();
        using var _ = await held; // past its own limit too by now; only its ending matters here
    }
}
