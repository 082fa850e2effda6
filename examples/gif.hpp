// examples/gif.hpp: an animated GIF (GIF89a) of RGB frames, in memory; standalone (the C++
// standard library only).
//
//   std::string bytes = mbrl_examples::gif::encode(frames, width, height, /*delay_cs=*/2);
//
// - One global palette of at most 256 colours for all frames, by median cut: every pixel of every
//   frame is counted in a histogram of 5 bits per channel (32768 cells, each also summing its
//   pixels' exact colours); the cells are split into boxes, the box with the largest count times
//   its longest side first, at the count's median along that side, until there are 256 boxes or
//   none can be split; a box's colour is the mean of its pixels. Each cell then maps to the
//   palette colour nearest (squared RGB distance) to its mean. No dithering: frames that do not
//   change stay equal after quantisation, and LZW finds more repeats.
// - Each frame a whole image (no transparency, disposal "leave in place"), LZW-compressed with
//   codes of 9 to 12 bits (minimum code size 8), a clear code when the table reaches 4095 codes
//   (as giflib does), data in sub-blocks of at most 255 bytes.
// - The frame delay is in hundredths of a second (GIF's unit): delay_cs(fps) = round(100 / fps),
//   at least 1. Most browsers show delays of 0 or 1 as 10 (a GIF of 100 frames per second plays
//   at 10 there); image viewers and PIL read the delay as written.
// - A NETSCAPE2.0 application extension makes the animation loop forever.
#ifndef MBRL_EXAMPLES_GIF_HPP
#define MBRL_EXAMPLES_GIF_HPP

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace mbrl_examples {
namespace gif {

// A frame delay in hundredths of a second for `fps` frames per second: round(100 / fps), at least 1.
inline int delay_cs(double fps) {
    if (!(fps > 0)) throw std::invalid_argument("gif: fps must be positive");
    return std::max(1, static_cast<int>(std::lround(100.0 / fps)));
}

// The palette and the map from a 15-bit colour (5 bits per channel) to its palette index.
struct Palette {
    std::vector<std::array<uint8_t, 3>> colours;  // at most 256
    std::vector<uint8_t> index;                   // [32768]

    static int cell(const uint8_t* rgb) { return ((rgb[0] >> 3) << 10) | ((rgb[1] >> 3) << 5) | (rgb[2] >> 3); }
    uint8_t operator()(const uint8_t* rgb) const { return index[cell(rgb)]; }
};

// Median cut over the pixels of `frames` (each width * height * 3 bytes).
inline Palette median_cut(const std::vector<std::vector<uint8_t>>& frames, std::size_t pixels, int max_colours = 256) {
    const int kCells = 1 << 15;
    std::vector<uint64_t> count(kCells, 0);
    std::vector<std::array<uint64_t, 3>> sum(kCells, {0, 0, 0});
    for (const auto& f : frames)
        for (std::size_t p = 0; p < pixels; ++p) {
            const uint8_t* c = f.data() + 3 * p;
            const int k = Palette::cell(c);
            ++count[k];
            for (int ch = 0; ch < 3; ++ch) sum[k][ch] += c[ch];
        }
    std::vector<int> cells;  // the cells with pixels, split in place into boxes [begin, end)
    for (int k = 0; k < kCells; ++k)
        if (count[k]) cells.push_back(k);
    auto channel = [](int k, int ch) { return (k >> (10 - 5 * ch)) & 31; };
    struct Box {
        int begin, end;
        uint64_t n;
        int axis, side;  // the longest side (in cells) and its channel
    };
    auto measure = [&](int begin, int end) {
        Box b{begin, end, 0, 0, 0};
        int lo[3] = {31, 31, 31}, hi[3] = {0, 0, 0};
        for (int i = begin; i < end; ++i) {
            b.n += count[cells[i]];
            for (int ch = 0; ch < 3; ++ch) {
                lo[ch] = std::min(lo[ch], channel(cells[i], ch));
                hi[ch] = std::max(hi[ch], channel(cells[i], ch));
            }
        }
        for (int ch = 0; ch < 3; ++ch)
            if (hi[ch] - lo[ch] > b.side) b.side = hi[ch] - lo[ch], b.axis = ch;
        return b;
    };
    std::vector<Box> boxes;
    if (!cells.empty()) boxes.push_back(measure(0, static_cast<int>(cells.size())));
    while (static_cast<int>(boxes.size()) < max_colours) {
        int pick = -1;
        double best = 0;
        for (std::size_t i = 0; i < boxes.size(); ++i) {
            const double score = static_cast<double>(boxes[i].n) * boxes[i].side;
            if (boxes[i].end - boxes[i].begin > 1 && boxes[i].side > 0 && score > best) best = score, pick = static_cast<int>(i);
        }
        if (pick < 0) break;
        const Box b = boxes[pick];
        std::sort(cells.begin() + b.begin, cells.begin() + b.end,
                  [&](int x, int y) { return channel(x, b.axis) < channel(y, b.axis); });
        // the median by count, kept off both ends so that both halves have cells
        uint64_t acc = 0;
        int cut = b.begin + 1;
        for (int i = b.begin; i < b.end - 1; ++i) {
            acc += count[cells[i]];
            cut = i + 1;
            if (2 * acc >= b.n) break;
        }
        boxes[pick] = measure(b.begin, cut);
        boxes.push_back(measure(cut, b.end));
    }
    Palette pal;
    for (const Box& b : boxes) {
        uint64_t s[3] = {0, 0, 0};
        for (int i = b.begin; i < b.end; ++i)
            for (int ch = 0; ch < 3; ++ch) s[ch] += sum[cells[i]][ch];
        std::array<uint8_t, 3> c{};
        for (int ch = 0; ch < 3; ++ch) c[ch] = static_cast<uint8_t>((s[ch] + b.n / 2) / b.n);
        pal.colours.push_back(c);
    }
    if (pal.colours.empty()) pal.colours.push_back({0, 0, 0});
    pal.index.assign(kCells, 0);
    for (int k = 0; k < kCells; ++k) {
        int mean[3];  // the cell's pixels' mean colour, or its centre if it has none
        for (int ch = 0; ch < 3; ++ch)
            mean[ch] = count[k] ? static_cast<int>((sum[k][ch] + count[k] / 2) / count[k]) : channel(k, ch) * 8 + 4;
        int best = 0;
        long best_d = -1;
        for (std::size_t i = 0; i < pal.colours.size(); ++i) {
            long d = 0;
            for (int ch = 0; ch < 3; ++ch) d += static_cast<long>(mean[ch] - pal.colours[i][ch]) * (mean[ch] - pal.colours[i][ch]);
            if (best_d < 0 || d < best_d) best_d = d, best = static_cast<int>(i);
        }
        pal.index[k] = static_cast<uint8_t>(best);
    }
    return pal;
}

// Writes variable-width codes least significant bit first, in sub-blocks of at most 255 bytes.
class CodeWriter {
   public:
    explicit CodeWriter(std::string& out) : out_(out) {}
    void put(unsigned code, int width) {
        bits_ |= static_cast<uint64_t>(code) << nbits_;
        nbits_ += width;
        while (nbits_ >= 8) {
            byte(static_cast<uint8_t>(bits_ & 0xFF));
            bits_ >>= 8;
            nbits_ -= 8;
        }
    }
    // The last partial byte, the last sub-block and the block terminator.
    void finish() {
        if (nbits_ > 0) byte(static_cast<uint8_t>(bits_ & 0xFF));
        bits_ = 0;
        nbits_ = 0;
        flush_block();
        out_ += '\0';
    }

   private:
    void byte(uint8_t b) {
        block_[len_++] = b;
        if (len_ == 255) flush_block();
    }
    void flush_block() {
        if (len_ == 0) return;
        out_ += static_cast<char>(len_);
        out_.append(reinterpret_cast<const char*>(block_), len_);
        len_ = 0;
    }
    std::string& out_;
    uint64_t bits_ = 0;
    int nbits_ = 0;
    uint8_t block_[255];
    int len_ = 0;
};

// The LZW image data of `n` palette indices (minimum code size 8), appended to out.
inline void lzw(const uint8_t* idx, std::size_t n, std::string& out) {
    const int kMin = 8;
    const unsigned kClear = 1u << kMin, kEnd = kClear + 1, kLimit = 4095;
    const int kHash = 8192;  // open addressing; at most 4095 - 258 entries, so never full
    std::vector<int32_t> keys(kHash, -1);
    std::vector<uint16_t> codes(kHash, 0);
    out += static_cast<char>(kMin);
    CodeWriter w(out);
    int width = kMin + 1;
    unsigned next = kEnd + 1;
    auto reset = [&] {
        std::fill(keys.begin(), keys.end(), -1);
        width = kMin + 1;
        next = kEnd + 1;
    };
    w.put(kClear, width);
    if (n == 0) {
        w.put(kEnd, width);
        w.finish();
        return;
    }
    // A decoder adds one table entry per code read (but the first after a clear) and widens its
    // codes when its next free code reaches 1 << width; the writer widens at the same point.
    auto emit = [&](unsigned code) {
        w.put(code, width);
        if (next >= (1u << width) && width < 12) ++width;
    };
    unsigned prefix = idx[0];
    for (std::size_t i = 1; i < n; ++i) {
        const unsigned c = idx[i];
        const int32_t key = static_cast<int32_t>((prefix << 8) | c);
        unsigned h = ((static_cast<unsigned>(key) * 2654435761u) >> 19) & (kHash - 1);
        while (keys[h] != -1 && keys[h] != key) h = (h + 1) & (kHash - 1);
        if (keys[h] == key) {
            prefix = codes[h];
            continue;
        }
        emit(prefix);
        if (next >= kLimit) {
            w.put(kClear, width);
            reset();
        } else {
            keys[h] = key;
            codes[h] = static_cast<uint16_t>(next++);
        }
        prefix = c;
    }
    emit(prefix);
    w.put(kEnd, width);
    w.finish();
}

inline void put16(std::string& out, int v) {
    out += static_cast<char>(v & 0xFF);
    out += static_cast<char>((v >> 8) & 0xFF);
}

// The GIF of `frames` (each width * height * 3 bytes, RGB, top row first), delay_cs hundredths of
// a second per frame, looping forever.
inline std::string encode(const std::vector<std::vector<uint8_t>>& frames, int width, int height, int delay) {
    if (width <= 0 || height <= 0 || width > 65535 || height > 65535)
        throw std::invalid_argument("gif: frame size out of range");
    if (frames.empty()) throw std::invalid_argument("gif: no frames");
    if (delay < 0 || delay > 65535) throw std::invalid_argument("gif: delay out of range");
    const std::size_t pixels = static_cast<std::size_t>(width) * height;
    for (const auto& f : frames)
        if (f.size() != pixels * 3) throw std::invalid_argument("gif: a frame is not width * height * 3 bytes");
    const Palette pal = median_cut(frames, pixels);
    std::string out = "GIF89a";
    put16(out, width);
    put16(out, height);
    out += static_cast<char>(0xF7);  // a global colour table of 2^(7+1) entries, 8 bits per channel
    out += '\0';                     // background colour index
    out += '\0';                     // no aspect ratio
    for (int i = 0; i < 256; ++i)
        for (int ch = 0; ch < 3; ++ch)
            out += static_cast<char>(i < static_cast<int>(pal.colours.size()) ? pal.colours[i][ch] : 0);
    out += "\x21\xFF\x0B" "NETSCAPE2.0" "\x03\x01";  // loop ...
    put16(out, 0);                                    // ... forever
    out += '\0';
    std::vector<uint8_t> idx(pixels);
    for (const auto& f : frames) {
        out += "\x21\xF9\x04";
        out += static_cast<char>(1 << 2);  // disposal 1: leave the frame in place; no transparency
        put16(out, delay);
        out += '\0';
        out += '\0';
        out += '\x2C';  // image descriptor: the whole screen, no local colour table, not interlaced
        put16(out, 0);
        put16(out, 0);
        put16(out, width);
        put16(out, height);
        out += '\0';
        for (std::size_t p = 0; p < pixels; ++p) idx[p] = pal(f.data() + 3 * p);
        lzw(idx.data(), pixels, out);
    }
    out += '\x3B';
    return out;
}

}  // namespace gif
}  // namespace mbrl_examples
#endif  // MBRL_EXAMPLES_GIF_HPP
