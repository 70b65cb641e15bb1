using System.Diagnostics;
using System.Text.Json.Nodes;
using MobileUNet.Data;
using MobileUNet.Inference;
using Microsoft.AspNetCore.Http;

namespace MobileUNet.Serve;

/// <summary>What <c>POST /v1/segment</c> answers with.</summary>
public enum SegmentOutput { Mask, Cutout, Json }

/// <summary>
/// One segment request, stage by stage: read the body, decode (pixel limit first), resize to the model's input
/// (the batch's worker normalises it into the model's own buffer), wait for a batch, resize the probabilities back to the photo, encode the answer. Everything
/// but the model call runs on the request's own thread, so decoding and encoding of concurrent requests
/// proceed in parallel while the model runs their batch.
/// </summary>
sealed class SegmentService(ServeOptions options, BatchSegmenter segmenter, MicroBatcher batcher, ServeMetrics metrics)
{
    public static SegmentOutput ParseOutput(string? value) => value?.ToLowerInvariant() switch
    {
        null or "" or "mask" => SegmentOutput.Mask,
        "cutout" => SegmentOutput.Cutout,
        "json" => SegmentOutput.Json,
        _ => throw new ServeError(StatusCodes.Status400BadRequest, $"output must be mask, cutout or json, not '{value}'."),
    };

    public async Task HandleAsync(HttpContext context)
    {
        var output = ParseOutput(context.Request.Query["output"]);
        // From here until it is queued this request is on its way: the batcher may hold a batch open for it.
        using var arrival = batcher.Arrive();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(options.RequestTimeout);
        var timings = new Dictionary<Stage, TimeSpan>();
        long mark = Stopwatch.GetTimestamp();
        TimeSpan Lap(Stage stage)
        {
            var now = Stopwatch.GetTimestamp();
            var elapsed = Stopwatch.GetElapsedTime(mark, now);
            mark = now;
            timings[stage] = elapsed;
            metrics.AddStage(stage, elapsed);
            return elapsed;
        }

        byte[] body;
        try { body = await ImageRequest.ReadAsync(context.Request, options.MaxBodyBytes, timeout.Token); }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested) { throw TimedOut("reading the body"); }
        Lap(Stage.Read);
        int s = segmenter.Spec.InputSize;
        // Only the cutout needs every pixel; a mask or a summary needs the model's input and the photo's size, so a
        // large JPEG is decoded at a reduced scale, no less than twice the input a side (the bilinear resize to the
        // input then still has two pixels a tap). A 640x480 photo for a 128 model costs a 400x300 decode.
        var photo = ImageRequest.Decode(body, options.ImageLimits, output == SegmentOutput.Cutout ? 0 : 2 * s);
        Lap(Stage.Decode);

        var pixels = photo.Pixels;
        var small = pixels.Width == s && pixels.Height == s ? pixels.Pixels : pixels.Resize(s, s).Pixels;
        var probabilities = new float[s * s];
        Lap(Stage.Preprocess);

        MicroBatcher.BatchResult batch;
        try { batch = await batcher.SegmentAsync(new MicroBatcher.Job(small, probabilities, timeout.Token), arrival).WaitAsync(timeout.Token); }
        catch (QueueFullException e)
        {
            context.Response.Headers.RetryAfter = "1";
            throw new ServeError(StatusCodes.Status503ServiceUnavailable, e.Message);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested) { throw TimedOut("waiting for the model"); }
        // The worker times the model call and the wait; the lap since pre-processing covers both.
        mark = Stopwatch.GetTimestamp();
        timings[Stage.Queue] = batch.Queue;
        timings[Stage.Inference] = batch.Inference;
        metrics.AddStage(Stage.Queue, batch.Queue);

        var mask = ImageSegmentation.MaskBytes(probabilities, s, photo.Width, photo.Height, segmenter.Threshold);
        byte[] answer;
        string contentType;
        switch (output)
        {
            case SegmentOutput.Mask:
                answer = ImageRequest.GreyPng(photo.Width, photo.Height, mask);
                contentType = "image/png";
                break;
            case SegmentOutput.Cutout:
                answer = ImageRequest.RgbaPng(photo.Width, photo.Height, Cutout(photo.Pixels, mask));
                contentType = "image/png";
                break;
            default:
                Lap(Stage.Postprocess);
                answer = System.Text.Encoding.UTF8.GetBytes(Summary(photo, mask, batch.BatchSize, timings).ToJsonString());
                contentType = "application/json";
                break;
        }
        if (output != SegmentOutput.Json) Lap(Stage.Postprocess);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = contentType;
        context.Response.Headers["X-Batch-Size"] = batch.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.ContentLength = answer.Length;
        await context.Response.Body.WriteAsync(answer, context.RequestAborted);
    }

    ServeError TimedOut(string what) => new(StatusCodes.Status504GatewayTimeout,
        $"timed out after {options.RequestTimeout.TotalSeconds:0.#} s {what}.");

    /// <summary>The photo with the mask as its alpha, background transparent: in place, the decoded photo is this request's own.</summary>
    static byte[] Cutout(RgbaImage photo, byte[] mask)
    {
        var rgba = photo.Pixels;
        for (int i = 0; i < mask.Length; i++) rgba[i * 4 + 3] = mask[i];
        return rgba;
    }

    JsonObject Summary(ReducedImage photo, byte[] mask, int batchSize, Dictionary<Stage, TimeSpan> timings)
    {
        int w = photo.Width, h = photo.Height, x0 = w, y0 = h, x1 = -1, y1 = -1;
        long foreground = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                if (mask[y * w + x] == 0) continue;
                foreground++;
                x0 = Math.Min(x0, x); x1 = Math.Max(x1, x);
                y0 = Math.Min(y0, y); y1 = Math.Max(y1, y);
            }
        var stages = new JsonObject();
        foreach (var (stage, elapsed) in timings.OrderBy(p => p.Key))
            stages[stage.ToString().ToLowerInvariant()] = Math.Round(elapsed.TotalMilliseconds, 3);
        return new JsonObject
        {
            ["width"] = w,
            ["height"] = h,
            ["foreground_fraction"] = Math.Round((double)foreground / ((long)w * h), 6),
            ["bbox"] = foreground == 0 ? null : new JsonObject { ["x"] = x0, ["y"] = y0, ["width"] = x1 - x0 + 1, ["height"] = y1 - y0 + 1 },
            ["model"] = ModelInfo(segmenter),
            ["batch_size"] = batchSize,
            ["timings_ms"] = stages,
        };
    }

    public static JsonObject ModelInfo(BatchSegmenter segmenter) => new()
    {
        ["source"] = segmenter.Source,
        ["spec"] = segmenter.Spec.Label,
        ["alpha"] = segmenter.Spec.Alpha,
        ["input_size"] = segmenter.Spec.InputSize,
        ["precision"] = segmenter.Metadata.Precision.ToString().ToLowerInvariant(),
        ["threshold"] = segmenter.Threshold,
        ["normalization"] = segmenter.Normalization.ToJson(),
    };
}
