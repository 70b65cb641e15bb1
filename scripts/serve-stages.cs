#:project ../src/MobileUNet/MobileUNet.csproj
#:property TreatWarningsAsErrors=false
#:property PublishAot=false
// Where a `serve` mask answer's CPU goes, stage by stage, on one thread (the README's "Load" section): decoding a
// 640x480 JPEG whole and reduced (what serve does for a mask: no less than twice the input a side), the shrink to
// the model's input, the mask drawn at the photo's size, and the PNG encode (serve's options: zlib level 1, Sub).
// The model call itself is scripts/serve-batch-gain.cs. Median of 60 runs after 20 warm-up runs each. Run it in
// Release: a file-based app builds Debug by default, and the library's loops then take several times as long.
//   dotnet run -c Release scripts/serve-stages.cs -- [photo=data/default/backgrounds/dune.jpg] [input=128]
using System.Diagnostics;
using System.Runtime.InteropServices;
using MobileUNet.Data;
using MobileUNet.Inference;
using SkiaSharp;

var source = args.Length > 0 ? args[0] : "data/default/backgrounds/dune.jpg";
int S = args.Length > 1 ? int.Parse(args[1]) : 128;
// The load test's photo: the source at 640x480, as JPEG quality 90.
var photo640 = ImageFile.Read(source).Resize(640, 480);
var jpeg = Encode(photo640, SKEncodedImageFormat.Jpeg, 90);
int W = 640, H = 480;

double Median(Action work)
{
    for (int i = 0; i < 20; i++) work();
    var times = new List<double>();
    for (int i = 0; i < 60; i++)
    {
        long start = Stopwatch.GetTimestamp();
        work();
        times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
    }
    return times.Order().ElementAt(times.Count / 2);
}

var whole = ImageFile.Decode(jpeg, "photo");
var reduced = ImageFile.DecodeAtLeast(jpeg, "photo", 2 * S);
var probabilities = new float[S * S];
for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++)
        probabilities[y * S + x] = Math.Abs(x - S / 2) < S / 5 && y > S / 6 ? 0.9f : 0.1f; // a figure, as a mask has
var mask = ImageSegmentation.MaskBytes(probabilities, S, W, H, 0.5f);

Console.WriteLine($"{source} as a {W}x{H} JPEG ({jpeg.Length:N0} bytes), model input {S}, one thread, median ms:");
Console.WriteLine($"  decode whole ({W}x{H})                 {Median(() => ImageFile.Decode(jpeg, "photo")):0.000}");
Console.WriteLine($"  decode reduced ({reduced.Pixels.Width}x{reduced.Pixels.Height}, serve's mask path) {Median(() => ImageFile.DecodeAtLeast(jpeg, "photo", 2 * S)):0.000}");
Console.WriteLine($"  shrink whole -> {S}                     {Median(() => whole.Resize(S, S)):0.000}");
Console.WriteLine($"  shrink reduced -> {S}                   {Median(() => reduced.Pixels.Resize(S, S)):0.000}");
Console.WriteLine($"  mask at {W}x{H}, row by row            {Median(() => ImageSegmentation.MaskBytes(probabilities, S, W, H, 0.5f)):0.000}");
Console.WriteLine($"  grey PNG of the mask                   {Median(() => GreyPng(mask, W, H)):0.000}");

static byte[] Encode(RgbaImage image, SKEncodedImageFormat format, int quality)
{
    var info = new SKImageInfo(image.Width, image.Height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
    var handle = GCHandle.Alloc(image.Pixels, GCHandleType.Pinned);
    try
    {
        using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
        return pixmap.Encode(format, quality)!.ToArray();
    }
    finally { handle.Free(); }
}

// serve's mask encoder (ImageRequest.GreyPng, internal to the service): zlib level 1 with the Sub filter.
static byte[] GreyPng(byte[] grey, int width, int height)
{
    var info = new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque);
    var handle = GCHandle.Alloc(grey, GCHandleType.Pinned);
    try
    {
        using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject(), info.RowBytes);
        return pixmap.Encode(new SKPngEncoderOptions(SKPngEncoderFilterFlags.Sub, 1))!.ToArray();
    }
    finally { handle.Free(); }
}
