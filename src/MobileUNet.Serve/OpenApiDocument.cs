using System.Text.Json.Nodes;

namespace MobileUNet.Serve;

/// <summary>
/// The OpenAPI 3.0 description of the API, written by hand (the shared framework has no generator, and the API
/// is a handful of paths): what clients and API tools read at <c>/openapi.json</c>.
/// </summary>
static class OpenApiDocument
{
    public static string Json(ServeOptions options)
    {
        var document = JsonNode.Parse(Template)!.AsObject();
        var segment = document["paths"]![Routes.Segment]!["post"]!.AsObject();
        var description = segment["description"]!.GetValue<string>();
        segment["description"] = description
            .Replace("{maxBody}", options.MaxBodyBytes.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{maxPixels}", options.MaxPixels.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        if (options.ApiKey is not null)
        {
            document["components"]!["securitySchemes"] = new JsonObject
            {
                ["apiKey"] = new JsonObject { ["type"] = "apiKey", ["in"] = "header", ["name"] = "X-API-Key" },
                ["bearer"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer" },
            };
            document["security"] = new JsonArray(new JsonObject { ["apiKey"] = new JsonArray() }, new JsonObject { ["bearer"] = new JsonArray() });
        }
        return document.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }

    const string Template = """
    {
      "openapi": "3.0.3",
      "info": {
        "title": "MobileUNet segmentation service",
        "version": "1",
        "description": "Person (foreground) segmentation with MobileUNet. Concurrent requests are micro-batched into one model call."
      },
      "paths": {
        "/v1/segment": {
          "post": {
            "summary": "Segment one image",
            "description": "The body is an image (PNG, JPEG, WebP, GIF, BMP, PPM/PGM), raw or as multipart field 'image'. Bodies over {maxBody} bytes and images over {maxPixels} pixels (read from the header, before decoding) get 413.",
            "parameters": [
              { "name": "output", "in": "query", "required": false,
                "schema": { "type": "string", "enum": ["mask", "cutout", "json"], "default": "mask" },
                "description": "mask: grey PNG, 0/255, at the photo's size; cutout: RGBA PNG, background transparent; json: summary." }
            ],
            "requestBody": {
              "required": true,
              "content": {
                "image/*": { "schema": { "type": "string", "format": "binary" } },
                "application/octet-stream": { "schema": { "type": "string", "format": "binary" } },
                "multipart/form-data": { "schema": { "type": "object", "required": ["image"], "properties": { "image": { "type": "string", "format": "binary" } } } }
              }
            },
            "responses": {
              "200": {
                "description": "The mask, cutout or summary.",
                "headers": { "X-Batch-Size": { "schema": { "type": "integer" }, "description": "Images in the model call this request shared." } },
                "content": {
                  "image/png": { "schema": { "type": "string", "format": "binary" } },
                  "application/json": { "schema": { "$ref": "#/components/schemas/Summary" } }
                }
              },
              "400": { "$ref": "#/components/responses/Error" },
              "401": { "$ref": "#/components/responses/Error" },
              "413": { "$ref": "#/components/responses/Error" },
              "415": { "$ref": "#/components/responses/Error" },
              "422": { "$ref": "#/components/responses/Error" },
              "503": { "description": "Queue full or shutting down; retry after the Retry-After header's seconds.", "content": { "text/plain": { "schema": { "type": "string" } } } },
              "504": { "$ref": "#/components/responses/Error" }
            }
          }
        },
        "/v1/model.onnx": { "get": { "summary": "The ONNX export being served (the camera page runs it in the browser)", "responses": { "200": { "description": "ONNX model", "content": { "application/octet-stream": {} } } } } },
        "/v1/model": { "get": { "summary": "Facts of the served model", "responses": { "200": { "description": "spec, input size, threshold, normalisation", "content": { "application/json": {} } } } } },
        "/v1/bench/plan": { "get": { "summary": "What the /bench page times: the bench grid (alpha, size lists; default the CLI bench's), parts, blocks and the budget (seconds, runs, warmup)", "responses": { "200": { "description": "jobs and blocks, each with its export URL", "content": { "application/json": {} } }, "400": { "$ref": "#/components/responses/Error" } } } },
        "/v1/bench/export.onnx": { "get": { "summary": "An untrained export to time: alpha (a bench grid alpha), size (multiple of 32 up to 256), and part=full|encoder|decoder (upsampling for a decoder variant) or block=conv|depthwise with stage", "responses": { "200": { "description": "ONNX model, made once and cached", "content": { "application/octet-stream": {} } }, "400": { "$ref": "#/components/responses/Error" } } } },
        "/v1/bench": { "post": { "summary": "Save the /bench page's raw timings as runs/bench/DEVICE/bench.json (the bench schema; read it with `mobileunet bench merge`)",
          "parameters": [ { "name": "device", "in": "query", "required": true, "schema": { "type": "string", "maxLength": 64 }, "description": "Device label; names the folder (no '/', '\\' or '..')." } ],
          "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object" } } } },
          "responses": { "201": { "description": "saved: the path, counts and the tables", "content": { "application/json": {} } }, "400": { "$ref": "#/components/responses/Error" }, "413": { "$ref": "#/components/responses/Error" } } } },
        "/healthz": { "get": { "summary": "Liveness; 503 while shutting down", "responses": { "200": { "description": "ok" }, "503": { "description": "draining" } } } },
        "/metrics": { "get": { "summary": "Prometheus text: requests by status, latency histogram, batch sizes, queue depth, time per stage", "responses": { "200": { "description": "metrics", "content": { "text/plain": {} } } } } }
      },
      "components": {
        "responses": {
          "Error": { "description": "A one-line reason.", "content": { "text/plain": { "schema": { "type": "string" } } } }
        },
        "schemas": {
          "Summary": {
            "type": "object",
            "properties": {
              "width": { "type": "integer" },
              "height": { "type": "integer" },
              "foreground_fraction": { "type": "number" },
              "bbox": { "type": "object", "nullable": true, "properties": { "x": { "type": "integer" }, "y": { "type": "integer" }, "width": { "type": "integer" }, "height": { "type": "integer" } } },
              "model": { "type": "object" },
              "batch_size": { "type": "integer" },
              "timings_ms": { "type": "object", "additionalProperties": { "type": "number" }, "description": "read, decode, preprocess, queue, inference, postprocess" }
            }
          }
        }
      }
    }
    """;
}
